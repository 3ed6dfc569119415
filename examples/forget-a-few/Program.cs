// Lethe through its public API: train a tiny MoCo encoder, forget a few of its members with the paper's MemGP, and
// audit the model before and after. Usage: dotnet run -- [FASHION-MNIST FOLDER] [OUTPUT FOLDER]
using Lethe.Audits;
using Lethe.Data;
using Lethe.Runtime;
using Lethe.Training;
using Lethe.Unlearning;

var device = TorchRuntime.Initialize(new RuntimeSettings("cpu", 0));
var data = Datasets.Load(DatasetKind.FashionMnist, args.Length > 0 ? args[0] : null);
var folder = args.Length > 1 ? args[1] : Path.Combine(Path.GetTempPath(), "lethe-forget-a-few");

// The tiny recipe: 32 members, a small CNN, two epochs. One seed fixes the split, the weights and the augmentations.
var recipe = TrainingPresets.Get("tiny", "moco") with { Seed = 7 };
var split = MembershipSplit.Create(recipe.Split, data.Name, data.Train.Count, data.Test.Count);
var runFolder = Path.Combine(folder, "run");
var trained = new Trainer(recipe, data, split, runFolder, device)
{
    OnEpoch = m => Console.WriteLine($"epoch {m.Epoch}/{recipe.Epochs}: loss {m.Loss:F3}"),
}.Run(resume: false);
Console.WriteLine($"trained {split.Members.Length} members -> {trained.Checkpoint}");

// The forget request: five members, by their ids in the training split.
var run = TrainingRun.Open(runFolder, data: data);
var forget = ForgetSet.Create(split.Members.Take(5), data.Train.Count, split.Members, "example");
var request = run.Split.WithForget(forget, "example");
var audit = new AuditSettings { Views = 3, ReferenceSamples = 16, LinearProbe = false, TestSamples = 500 };

IAuditReport before;
using (var original = run.LoadModel(device)) before = Audit.Run("original", original, data, request, audit, device);

var unlearning = UnlearningMethods.Defaults("memgp", classifier: false) with { Epochs = 3, BatchSize = 4 };
var (model, answered) = ForgetRequest.Fulfil(run, request, unlearning, Path.Combine(folder, "unlearn"), device);
IAuditReport after;
using (model) after = Audit.Run("unlearned", model, data, request, audit, device);

Console.WriteLine($"forgot {answered.ForgetIds.Length} members with {unlearning.Method} in {answered.Result.Seconds:F1} s ({answered.Result.StopReason});");
Console.WriteLine($"checkpoint SHA-256 {answered.CheckpointSha256[..16]}..., request in {Path.Combine(folder, "unlearn", ForgetRequest.FileName)}");
Console.WriteLine($"{"attack on the forget set",-36} {"AUC before",10} {"AUC after",10}");
foreach (var ((output, attack, b), (_, _, a)) in before.Attacks(forget: true).Zip(after.Attacks(forget: true)))
    Console.WriteLine($"{output + " " + attack,-36} {b.Auc,10:F3} {a.Auc,10:F3}");
foreach (var ((measure, b), (_, a)) in before.Utility.Zip(after.Utility))
    Console.WriteLine($"{measure,-36} {b,10:P1} {a,10:P1}");
