using System.Globalization;
using System.Text;

namespace GoodTransfer.ML.FeatureFiles;

/// <summary>
/// Feature files as comma-separated text (RFC 4180 quoting): <c># goodtransfer.key=value</c> lines, a header
/// <c>path[,label],f0,...,f{C-1}</c>, then one row per image. Floats are written in their shortest round-trip
/// form, so they read back bit for bit; <c>pandas.read_csv(path, comment="#")</c> reads the file.
/// </summary>
internal static class CsvFeatures
{
    private const string MetadataPrefix = "# ";

    public static void Write(Stream stream, FeatureFileMetadata metadata, IReadOnlyList<FeatureRow> rows)
    {
        if (rows.FirstOrDefault(r => r.Path.AsSpan().IndexOfAny('\r', '\n') >= 0 || r.Label?.AsSpan().IndexOfAny('\r', '\n') >= 0) is { } broken)
        {
            throw new ArgumentException($"Row '{broken.Path.ReplaceLineEndings(" ")}' has a line break in its path or label, which a CSV feature file cannot hold: use Parquet.", nameof(rows));
        }

        using var writer = new StreamWriter(stream, new UTF8Encoding(encoderShouldEmitUTF8Identifier: false), 1 << 16, leaveOpen: true) { NewLine = "\n" };
        foreach (var pair in MetadataKeys.ToPairs(metadata))
        {
            writer.WriteLine($"{MetadataPrefix}{pair.Key}={pair.Value}");
        }

        var labelled = rows.Any(r => r.Label is not null);
        var header = new StringBuilder("path");
        if (labelled)
        {
            header.Append(",label");
        }

        for (var i = 0; i < metadata.FeatureLength; i++)
        {
            header.Append(CultureInfo.InvariantCulture, $",f{i}");
        }

        writer.WriteLine(header);
        var line = new StringBuilder();
        foreach (var row in rows)
        {
            line.Clear();
            Quote(line, row.Path);
            if (labelled)
            {
                line.Append(',');
                Quote(line, row.Label ?? string.Empty);
            }

            foreach (var value in row.Features)
            {
                line.Append(',').Append(value.ToString("R", CultureInfo.InvariantCulture));
            }

            writer.WriteLine(line);
        }
    }

    public static FeatureContent Read(string path, bool metadataOnly)
    {
        using var reader = new StreamReader(path, Encoding.UTF8);
        var pairs = new Dictionary<string, string>(StringComparer.Ordinal);
        string? line;
        var number = 0;
        while ((line = reader.ReadLine()) is not null && line.StartsWith('#'))
        {
            number++;
            var text = line[1..].Trim();
            var equals = text.IndexOf('=', StringComparison.Ordinal);
            if (equals > 0)
            {
                pairs[text[..equals]] = text[(equals + 1)..];
            }
        }

        var metadata = MetadataKeys.FromPairs(pairs, path);
        if (line is null)
        {
            throw new InvalidDataException($"Feature file '{path}' has no header line after its metadata.");
        }

        number++;
        var header = Split(line, path, number);
        var labelled = header.Count > 1 && header[1] == "label";
        var first = labelled ? 2 : 1;
        if (header[0] != "path" || header.Count - first != metadata.FeatureLength)
        {
            throw new InvalidDataException($"Feature file '{path}', line {number}: the header must be path,[label,]f0,...,f{metadata.FeatureLength - 1}.");
        }

        if (metadataOnly)
        {
            return new FeatureContent(metadata, [], labelled);
        }

        var rows = new List<FeatureRow>();
        while ((line = reader.ReadLine()) is not null)
        {
            number++;
            if (line.Length == 0)
            {
                continue;
            }

            var fields = Split(line, path, number);
            if (fields.Count != header.Count)
            {
                throw new InvalidDataException($"Feature file '{path}', line {number}: {fields.Count} fields, the header has {header.Count}.");
            }

            var features = new float[metadata.FeatureLength];
            for (var i = 0; i < features.Length; i++)
            {
                if (!float.TryParse(fields[first + i], NumberStyles.Float, CultureInfo.InvariantCulture, out features[i]))
                {
                    throw new InvalidDataException($"Feature file '{path}', line {number}: f{i} is '{fields[first + i]}', not a number.");
                }
            }

            rows.Add(new FeatureRow(fields[0], labelled && fields[1].Length > 0 ? fields[1] : null, features));
        }

        return new FeatureContent(metadata, rows, labelled);
    }

    private static void Quote(StringBuilder line, string field)
    {
        if (field.AsSpan().IndexOfAny(",\"\r\n#") < 0)
        {
            line.Append(field);
            return;
        }

        line.Append('"').Append(field.Replace("\"", "\"\"", StringComparison.Ordinal)).Append('"');
    }

    /// <summary>Splits one line into fields, undoing <see cref="Quote"/>; paths with line breaks are not supported in CSV.</summary>
    private static List<string> Split(string line, string path, int number)
    {
        var fields = new List<string>();
        var field = new StringBuilder();
        var i = 0;
        while (true)
        {
            field.Clear();
            if (i < line.Length && line[i] == '"')
            {
                i++;
                while (true)
                {
                    if (i >= line.Length)
                    {
                        throw new InvalidDataException($"Feature file '{path}', line {number}: a quoted field does not end.");
                    }

                    if (line[i] == '"')
                    {
                        if (i + 1 < line.Length && line[i + 1] == '"')
                        {
                            field.Append('"');
                            i += 2;
                            continue;
                        }

                        i++;
                        break;
                    }

                    field.Append(line[i++]);
                }
            }
            else
            {
                var comma = line.IndexOf(',', i);
                var end = comma < 0 ? line.Length : comma;
                field.Append(line, i, end - i);
                i = end;
            }

            fields.Add(field.ToString());
            if (i >= line.Length)
            {
                return fields;
            }

            if (line[i] != ',')
            {
                throw new InvalidDataException($"Feature file '{path}', line {number}: a quoted field is followed by '{line[i]}', not a comma.");
            }

            i++;
        }
    }
}
