using static TorchSharp.torch;

namespace Lethe.Losses;

/// <summary>The paper's L_Norm ("MNorm"): the mean L2 norm of the model's output D on the forget batch, which lowers confidence.</summary>
public static class OutputNorm
{
    public static Tensor Loss(Tensor outputs) => linalg.vector_norm(outputs, 2, new long[] { 1 }).mean();
}
