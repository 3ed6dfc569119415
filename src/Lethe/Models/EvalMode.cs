using static TorchSharp.torch;

namespace Lethe.Models;

/// <summary>Evaluations run in eval mode (batch norm on its running statistics) and leave the model's mode as it was.</summary>
public static class EvalMode
{
    public static T Evaluating<T>(this nn.Module model, Func<T> work)
    {
        var wasTraining = model.training;
        model.eval();
        try
        {
            return work();
        }
        finally
        {
            model.train(wasTraining);
        }
    }
}
