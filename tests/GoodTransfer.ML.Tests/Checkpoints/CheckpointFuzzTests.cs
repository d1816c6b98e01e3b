using GoodTransfer.ML.Checkpoints;
using GoodTransfer.ML.Onnx;
using GoodTransfer.ML.Tests.Support;
using Xunit.Abstractions;

namespace GoodTransfer.ML.Tests.Checkpoints;

/// <summary>
/// Mutates real checkpoints (fixed seed, thousands of cases) and asserts that reading them either
/// succeeds or throws <see cref="CheckpointFormatException"/>: never another exception, a crash or a hang.
/// </summary>
public sealed class CheckpointFuzzTests(ITestOutputHelper output)
{
    private const int CasesPerSeedFile = 2500;
    private static readonly TimeSpan CaseTimeout = TimeSpan.FromSeconds(20);

    public static TheoryData<string> SeedFiles => new(
        FixtureManifest.Instance.Checkpoints
            .Where(c => c.Model is "mini_basic" or "mini_bottleneck")
            .GroupBy(c => (c.Container, c.Description.Contains("descriptor", StringComparison.OrdinalIgnoreCase), c.Description.Contains("MoCo", StringComparison.OrdinalIgnoreCase)))
            .Select(g => g.OrderBy(c => new FileInfo(c.FullPath).Length).First().File)
            .Take(4));

    [Theory]
    [MemberData(nameof(SeedFiles))]
    public async Task Mutated_checkpoints_only_ever_throw_CheckpointFormatException(string seedFile)
    {
        var original = File.ReadAllBytes(FixtureManifest.PathOf(seedFile));
        var random = new Random(20210427 ^ seedFile.Length);
        var directory = Directory.CreateTempSubdirectory("goodtransfer-fuzz-");
        var path = Path.Combine(directory.FullName, "mutant.pth");
        int refused = 0, accepted = 0;
        try
        {
            for (var i = 0; i < CasesPerSeedFile; i++)
            {
                var (mutant, description) = Mutate(original, random);
                File.WriteAllBytes(path, mutant);
                var run = Task.Run(() => ReadAndInfer(path));
                if (await Task.WhenAny(run, Task.Delay(CaseTimeout)) != run)
                {
                    var kept = KeepForReproduction(mutant, seedFile, i);
                    Assert.Fail($"case {i} ({description}) did not finish within {CaseTimeout}; input kept at {kept}");
                }

                var outcome = await run;
                if (outcome is { } escaped and not CheckpointFormatException)
                {
                    var kept = KeepForReproduction(mutant, seedFile, i);
                    Assert.Fail($"case {i} ({description}) threw {escaped.GetType().Name}: {escaped.Message}; input kept at {kept}\n{escaped}");
                }

                if (outcome is CheckpointFormatException refusal)
                {
                    Assert.Contains(path, refusal.Message, StringComparison.Ordinal);
                    refused++;
                }
                else
                {
                    accepted++;
                }
            }
        }
        finally
        {
            directory.Delete(recursive: true);
        }

        output.WriteLine($"{seedFile}: {CasesPerSeedFile} cases, {refused} refused, {accepted} read");
        Assert.True(refused > CasesPerSeedFile / 10, $"only {refused} of {CasesPerSeedFile} mutants were refused: the mutations are not reaching the parser");
    }

    private static Exception? ReadAndInfer(string path)
    {
        try
        {
            var stateDict = CheckpointReader.Read(path);
            ResNetArchitecture.Infer(stateDict);
            return null;
        }
        catch (Exception e)
        {
            return e;
        }
    }

    private static string KeepForReproduction(byte[] mutant, string seedFile, int index)
    {
        var kept = Path.Combine(Path.GetTempPath(), $"goodtransfer-fuzz-{Path.GetFileNameWithoutExtension(seedFile)}-{index}.pth");
        File.WriteAllBytes(kept, mutant);
        return kept;
    }

    /// <summary>
    /// One mutation. Most target the first 8 KB (the pickle of a zip or legacy file) and the last
    /// 2 KB (the zip central directory), where structure lives; the rest land anywhere.
    /// </summary>
    private static (byte[] Bytes, string Description) Mutate(byte[] original, Random random)
    {
        var bytes = (byte[])original.Clone();
        int Position()
        {
            var region = random.Next(4);
            return region switch
            {
                0 or 1 => random.Next(Math.Min(bytes.Length, 8192)),
                2 => Math.Max(0, bytes.Length - 1 - random.Next(Math.Min(bytes.Length, 2048))),
                _ => random.Next(bytes.Length),
            };
        }

        switch (random.Next(7))
        {
            case 0:
                {
                    var flips = 1 + random.Next(8);
                    for (var i = 0; i < flips; i++)
                    {
                        bytes[Position()] ^= (byte)(1 << random.Next(8));
                    }

                    return (bytes, $"{flips} bit flips");
                }

            case 1:
                {
                    var at = Position();
                    var length = Math.Min(1 + random.Next(16), bytes.Length - at);
                    random.NextBytes(bytes.AsSpan(at, length));
                    return (bytes, $"{length} random bytes at {at}");
                }

            case 2:
                {
                    var at = random.Next(bytes.Length);
                    return (bytes[..at], $"truncated to {at} bytes");
                }

            case 3:
                {
                    var at = Position();
                    var value = random.Next(4) switch
                    {
                        0 => uint.MaxValue,
                        1 => (uint)int.MaxValue,
                        2 => 0u,
                        _ => (uint)random.Next(),
                    };
                    var span = bytes.AsSpan(at, Math.Min(4, bytes.Length - at));
                    BitConverter.GetBytes(value).AsSpan(0, span.Length).CopyTo(span);
                    return (bytes, $"32-bit value {value} at {at}");
                }

            case 4:
                {
                    var at = Position();
                    var insert = new byte[1 + random.Next(8)];
                    random.NextBytes(insert);
                    return ([.. bytes[..at], .. insert, .. bytes[at..]], $"{insert.Length} bytes inserted at {at}");
                }

            case 5:
                {
                    var at = Position();
                    var length = Math.Min(1 + random.Next(64), bytes.Length - at);
                    return ([.. bytes[..at], .. bytes[(at + length)..]], $"{length} bytes deleted at {at}");
                }

            default:
                {
                    // Pickle opcodes that build, remember or call: a likely way to reach unusual states.
                    byte[] opcodes = [0x28, 0x29, 0x2e, 0x30, 0x31, 0x32, 0x51, 0x52, 0x5d, 0x61, 0x62, 0x63, 0x65, 0x68, 0x6a, 0x71, 0x72, 0x73, 0x74, 0x75, 0x7d, 0x81, 0x85, 0x86, 0x87, 0x8a, 0x8c, 0x93, 0x94];
                    var at = random.Next(Math.Min(bytes.Length, 8192));
                    bytes[at] = opcodes[random.Next(opcodes.Length)];
                    return (bytes, $"opcode 0x{bytes[at]:x2} at {at}");
                }
        }
    }
}
