using static TorchSharp.torch;

namespace Lethe.Models;

/// <summary>
/// Evaluations run in eval mode (batch norm on its running statistics) and leave the model's mode as it was. A
/// learner's inference runs with its batch norms folded meanwhile (<see cref="Learner.FoldBatchNorm"/>).
/// </summary>
public static class EvalMode
{
    public static T Evaluating<T>(this nn.Module model, Func<T> work)
    {
        var wasTraining = model.training;
        model.eval();
        var fold = (model as Learner)?.FoldBatchNorm();
        try
        {
            return work();
        }
        finally
        {
            fold?.Dispose();
            model.train(wasTraining);
        }
    }
}
