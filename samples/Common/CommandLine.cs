using System.Globalization;

namespace GoodTransfer.ML.Samples;

/// <summary>
/// A sample's command line: options that take a value (<c>--data DIR</c> or <c>--data=DIR</c>) and
/// <c>--help</c>. Nothing is positional. An unknown option, a missing value, a repeated option or a value of
/// the wrong kind is a <see cref="SampleFailure"/> (exit code 2) naming the option.
/// </summary>
internal sealed class CommandLine
{
    private const string HelpAdvice = "Run with --help to see the options.";

    private readonly Dictionary<string, string> values;

    private CommandLine(Dictionary<string, string> values, bool helpAsked)
    {
        this.values = values;
        HelpAsked = helpAsked;
    }

    public bool HelpAsked { get; }

    /// <summary>Reads <paramref name="args"/>, accepting only the options named in <paramref name="valueOptions"/> (with their dashes) and --help.</summary>
    public static CommandLine Parse(IReadOnlyList<string> args, IReadOnlyCollection<string> valueOptions)
    {
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        var helpAsked = false;
        for (var i = 0; i < args.Count; i++)
        {
            var argument = args[i];
            if (argument is "--help" or "-h" or "-?")
            {
                helpAsked = true;
                continue;
            }

            var equals = argument.IndexOf('=', StringComparison.Ordinal);
            var name = equals > 0 ? argument[..equals] : argument;
            if (!valueOptions.Contains(name))
            {
                var what = argument.StartsWith('-') ? $"unknown option '{name}'" : $"unexpected argument '{argument}' (every argument is an --option)";
                throw SampleFailure.BadInput(what, [HelpAdvice]);
            }

            string value;
            if (equals > 0)
            {
                value = argument[(equals + 1)..];
            }
            else if (i + 1 < args.Count && !args[i + 1].StartsWith("--", StringComparison.Ordinal))
            {
                value = args[++i];
            }
            else
            {
                throw SampleFailure.BadInput($"option '{name}' needs a value", [HelpAdvice]);
            }

            if (string.IsNullOrWhiteSpace(value))
            {
                throw SampleFailure.BadInput($"option '{name}' needs a value", [HelpAdvice]);
            }

            if (!values.TryAdd(name, value))
            {
                throw SampleFailure.BadInput($"option '{name}' is given twice", [HelpAdvice]);
            }
        }

        return new CommandLine(values, helpAsked);
    }

    /// <summary>The option's value, or <see langword="null"/> when it was not given.</summary>
    public string? Value(string option) => values.GetValueOrDefault(option);

    /// <summary>The option's value as a whole number in [<paramref name="min"/>, <paramref name="max"/>], or <paramref name="defaultValue"/> when it was not given.</summary>
    public int Integer(string option, int defaultValue, int min, int max)
    {
        if (Value(option) is not { } text)
        {
            return defaultValue;
        }

        return int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var value) && value >= min && value <= max
            ? value
            : throw SampleFailure.BadInput($"option '{option}' takes a whole number from {min} to {max}, not '{text}'");
    }

    /// <summary>The option's value as a number strictly between <paramref name="above"/> and <paramref name="below"/>, or <paramref name="defaultValue"/> when it was not given.</summary>
    public double Fraction(string option, double defaultValue, double above, double below)
    {
        if (Value(option) is not { } text)
        {
            return defaultValue;
        }

        return double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var value) && value > above && value < below
            ? value
            : throw SampleFailure.BadInput(FormattableString.Invariant($"option '{option}' takes a number between {above} and {below}, not '{text}'"));
    }
}
