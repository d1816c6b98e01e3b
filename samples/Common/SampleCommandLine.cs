using System.CommandLine;
using System.CommandLine.Help;
using System.CommandLine.Invocation;
using System.CommandLine.Parsing;
using System.Globalization;

namespace GoodTransfer.ML.Samples;

/// <summary>
/// The pieces of the samples' command lines (System.CommandLine): the root command with the samples' help
/// footer, and the options that check their own values. A value of the wrong kind is a parse error that
/// names the option; <see cref="SampleMain.Run"/> prints each parse error as one line and exits 2.
/// </summary>
internal static class SampleCommandLine
{
    /// <summary>The end of every sample's --help: the environment they read and their exit codes.</summary>
    public const string HelpFooter = """
        Environment:
          GOODTRANSFER_HOME     the cache folder (default: ~/.cache/goodtransfer)
          GOODTRANSFER_MIRROR   a base URL serving the paper's file names, instead of the paper's host
          GOODTRANSFER_OFFLINE  1: never download

        Exit codes: 0 done, 2 bad arguments or data, 3 a checkpoint could not be downloaded or read.
        """;

    /// <summary>A root command with <paramref name="options"/>, whose --help ends with <see cref="HelpFooter"/>.</summary>
    public static RootCommand Root(string description, params Option[] options)
    {
        var root = new RootCommand(description);
        foreach (var option in options)
        {
            root.Options.Add(option);
        }

        var help = root.Options.OfType<HelpOption>().Single();
        help.Action = new HelpWithFooter((SynchronousCommandLineAction)help.Action!);
        return root;
    }

    /// <summary><c>--data DIR</c>, the image folder both samples read.</summary>
    public static Option<string?> DataOption() => new("--data")
    {
        HelpName = "DIR",
        Description = "A folder with one subfolder of images per class, named after the class [default: the 300 Fashion-MNIST images that ship with the samples]",
    };

    /// <summary>An option that takes a backbone's name (checked by <see cref="BackboneNames.Resolve"/>, which lists the valid ones) and completes the names.</summary>
    public static Option<string?> BackboneOption(string name, string helpName, string description)
    {
        var option = new Option<string?>(name) { HelpName = helpName, Description = description };
        option.CompletionSources.Add([.. Backbone.All.Select(b => b.Name)]);
        return option;
    }

    /// <summary>An option that takes a whole number from <paramref name="min"/> to <paramref name="max"/>.</summary>
    public static Option<int> WholeNumber(string name, string helpName, string description, int defaultValue, int min, int max) => new(name)
    {
        HelpName = helpName,
        Description = description,
        DefaultValueFactory = _ => defaultValue,
        CustomParser = result => Parse<int>(result, defaultValue, text =>
            int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var value) && value >= min && value <= max ? value : (int?)null,
            $"a whole number from {min} to {max}"),
    };

    /// <summary>An option that takes a number strictly between <paramref name="above"/> and <paramref name="below"/>.</summary>
    public static Option<double> Fraction(string name, string helpName, string description, double defaultValue, double above, double below) => new(name)
    {
        HelpName = helpName,
        Description = description,
        DefaultValueFactory = _ => defaultValue,
        CustomParser = result => Parse<double>(result, defaultValue, text =>
            double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var value) && value > above && value < below ? value : (double?)null,
            FormattableString.Invariant($"a number between {above} and {below}")),
    };

    /// <summary>The one token's value, or a parse error "option '--folds' takes a whole number from 2 to 50, not 'x'".</summary>
    private static T Parse<T>(ArgumentResult result, T defaultValue, Func<string, T?> read, string expected)
        where T : struct
    {
        if (result.Tokens.Count == 0)
        {
            return defaultValue;
        }

        var text = result.Tokens[0].Value;
        if (read(text) is { } value)
        {
            return value;
        }

        var option = (result.Parent as OptionResult)?.Option.Name ?? result.Argument.Name;
        result.AddError($"option '{option}' takes {expected}, not '{text}'");
        return defaultValue;
    }

    /// <summary>System.CommandLine's help, then the samples' footer.</summary>
    private sealed class HelpWithFooter(SynchronousCommandLineAction help) : SynchronousCommandLineAction
    {
        public override int Invoke(ParseResult parseResult)
        {
            var exitCode = help.Invoke(parseResult);
            parseResult.InvocationConfiguration.Output.WriteLine(HelpFooter);
            return exitCode;
        }
    }
}
