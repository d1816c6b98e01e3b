using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace GoodTransfer.ML.Orleans;

/// <summary>
/// What a job's output folder holds the parts of (<c>goodtransfer-job.json</c>): the images, how they were cut and
/// the featurizer, so that a rerun skips complete parts only when they are parts of the same job.
/// </summary>
internal sealed record JobManifest(int Images, int ImagesPerBatch, int Batches, string ImagesSha256, string Featurizer)
{
    public const string FileName = "goodtransfer-job.json";

    private static readonly JsonSerializerOptions Json = new() { WriteIndented = true };

    public static JobManifest Of(IReadOnlyList<ImageEntry> images, int imagesPerBatch, int batches, FeaturizerSpec featurizer)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach (var image in images)
        {
            hash.AppendData(Encoding.UTF8.GetBytes(image.Path + "\n" + (image.Label is null ? "\u0001" : image.Label + "\u0002") + "\n"));
        }

        return new JobManifest(images.Count, imagesPerBatch, batches, Convert.ToHexString(hash.GetHashAndReset()).ToLowerInvariant(), featurizer.Key);
    }

    /// <summary>Writes this manifest into <paramref name="folder"/>, or checks that the one there is this one.</summary>
    /// <exception cref="FeaturizationJobException">The folder holds another job's parts.</exception>
    public void WriteOrCheck(string folder)
    {
        var path = Path.Combine(folder, FileName);
        if (File.Exists(path))
        {
            JobManifest? existing;
            try
            {
                existing = JsonSerializer.Deserialize<JobManifest>(File.ReadAllText(path));
            }
            catch (JsonException exception)
            {
                throw new FeaturizationJobException($"The output folder's job manifest '{path}' cannot be read ({exception.Message}). Delete it only if the folder's parts are of this job.", exception);
            }

            if (existing != this)
            {
                throw new FeaturizationJobException(
                    $"The output folder '{folder}' holds the parts of another job ({existing?.Images} images, {existing?.ImagesPerBatch} per batch, images {existing?.ImagesSha256[..12]}, featurizer {existing?.Featurizer}); " +
                    $"this one has {Images} images, {ImagesPerBatch} per batch, images {ImagesSha256[..12]}, featurizer {Featurizer}. Use another folder, or empty it to start again.");
            }

            return;
        }

        var temporary = path + "." + Guid.NewGuid().ToString("N") + ".tmp";
        try
        {
            File.WriteAllText(temporary, JsonSerializer.Serialize(this, Json));
            File.Move(temporary, path, overwrite: false);
        }
        catch (IOException) when (File.Exists(path))
        {
            // Another run of the job wrote it first: check it as if it had been there.
            WriteOrCheck(folder);
        }
        finally
        {
            File.Delete(temporary);
        }
    }
}
