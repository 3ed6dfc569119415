using System.Text.Json.Nodes;
using Lethe.Data;
using Lethe.Models;
using Lethe.Storage;
using Lethe.Training;
using static TorchSharp.torch;

namespace Lethe.Unlearning;

/// <summary>
/// One answered forget request, saved as unlearning.json beside the checkpoint it produced: the run that was unlearned
/// and the checkpoint it started from (with its SHA-256), the ids forgotten and where they came from, the method and
/// every setting, how the run ended, and the SHA-256 of the unlearned checkpoint. `lethe audit --checkpoint` needs
/// nothing else to audit the result on the same groups.
/// </summary>
public sealed record ForgetRequest
{
    public const string FileName = "unlearning.json";
    public const string CheckpointFile = "unlearned.ckpt";
    public const string FormatName = "lethe-forget-request";
    public const int FormatVersion = 1;

    public string Format { get; init; } = FormatName;

    public int Version { get; init; } = FormatVersion;

    /// <summary>The training run whose model was unlearned (absolute path).</summary>
    public required string ParentRun { get; init; }

    /// <summary>The checkpoint unlearning started from (absolute path) and its SHA-256.</summary>
    public required string ParentCheckpoint { get; init; }

    public required string ParentCheckpointSha256 { get; init; }

    /// <summary>The training-split ids forgotten, ascending.</summary>
    public required int[] ForgetIds { get; init; }

    /// <summary>"fraction" (the split's own forget set) or the path of the id file that listed them.</summary>
    public required string ForgetSource { get; init; }

    /// <summary>SHA-256 of the id file, when the ids came from one.</summary>
    public string? ForgetFileSha256 { get; init; }

    public required UnlearningSettings Settings { get; init; }

    public required UnlearningResult Result { get; init; }

    /// <summary>The unlearned checkpoint's file name (beside this file) and SHA-256.</summary>
    public required string Checkpoint { get; init; }

    public required string CheckpointSha256 { get; init; }

    public DateTimeOffset Created { get; init; }

    /// <summary>The unlearned checkpoint's path, for a request read from <paramref name="folder"/>.</summary>
    public string CheckpointPath(string folder) => Path.Combine(folder, Checkpoint);

    /// <summary>
    /// Answers a forget request: loads <paramref name="run"/>'s model, unlearns <paramref name="split"/>'s forget set with
    /// <paramref name="settings"/>, and writes unlearned.ckpt and unlearning.json into <paramref name="folder"/> (nothing
    /// when stopped). Returns the unlearned model, which the caller disposes, and the request.
    /// </summary>
    public static (Learner Model, ForgetRequest Request) Fulfil(
        TrainingRun run, MembershipSplit split, UnlearningSettings settings, string folder, Device device,
        Action<UnlearningEpoch>? onEpoch = null, CancellationToken cancel = default)
    {
        // What the request started from is hashed before anything runs.
        var fromFile = split.ForgetSource != "fraction" && File.Exists(split.ForgetSource);
        var request = new ForgetRequest
        {
            ParentRun = Path.GetFullPath(run.Folder),
            ParentCheckpoint = Path.GetFullPath(run.FinalCheckpoint),
            ParentCheckpointSha256 = File.Exists(run.FinalCheckpoint) ? Storage.Checkpoint.FileSha256(run.FinalCheckpoint) : "",
            ForgetIds = split.Forget,
            ForgetSource = fromFile ? Path.GetFullPath(split.ForgetSource) : split.ForgetSource,
            ForgetFileSha256 = fromFile ? Storage.Checkpoint.FileSha256(split.ForgetSource) : null,
            Settings = settings,
            Result = new UnlearningResult([], "not run", false, 0),
            Checkpoint = CheckpointFile,
            CheckpointSha256 = "",
        };
        var model = run.LoadModel(device);
        try
        {
            var result = new Unlearner(model, settings, device) { OnEpoch = onEpoch }
                .Run(run.Data.Train, split.Forget, split.ShadowNonMembers, cancel, split.Retain);
            request = request with { Result = result, Created = DateTimeOffset.UtcNow };
            if (cancel.IsCancellationRequested) return (model, request);
            // A request on disk always describes the checkpoint beside it: the old one goes before the new checkpoint is written.
            var json = Path.Combine(folder, FileName);
            if (File.Exists(json)) File.Delete(json);
            var checkpoint = Path.Combine(folder, CheckpointFile);
            Storage.Checkpoint.Save(checkpoint, model, run.Settings.Architecture, run.Settings.Epochs, settings.Seed, settings);
            request = request with { CheckpointSha256 = Storage.Checkpoint.FileSha256(checkpoint) };
            LetheJson.WriteFile(json, request);
            return (model, request);
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    /// <summary>
    /// The request saved in <paramref name="folder"/>, or null when it holds none. An unlearning.json of another format
    /// (Lethe before typed requests wrote one without the parent run's checkpoint and the forget ids) is a one-line error.
    /// </summary>
    public static ForgetRequest? Find(string folder)
    {
        var path = Path.Combine(folder, FileName);
        if (!File.Exists(path)) return null;
        var format = LetheJson.ReadFile<JsonObject>(path, "forget request")["format"];
        if (format is not JsonValue value || !value.TryGetValue<string>(out var name) || name != FormatName)
            throw new DataFormatException(path, "is not a forget request this Lethe reads (an older unlearning.json?): audit the checkpoint with --run RUN [--forget-ids FILE], or unlearn again");
        return LetheJson.ReadFile<ForgetRequest>(path, "forget request");
    }

    /// <summary>The parent run's split with this request's forget set.</summary>
    public MembershipSplit Apply(MembershipSplit split) =>
        split.Forget.SequenceEqual(ForgetIds) ? split : split.WithForget(ForgetSet.Create(ForgetIds, split.TrainCount, split.Members, ForgetSource), ForgetSource);
}
