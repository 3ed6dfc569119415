using static TorchSharp.torch;

namespace Lethe.Losses;

/// <summary>
/// The view alignment EncoderMI reads (Liu et al. 2021): the cosine similarities between augmented views of one image.
/// Members' views agree more than non-members' do. The audit's threshold and vector attacks, the training monitor and
/// Alignment Calibration's forget term all use these functions.
/// </summary>
public static class ViewSimilarity
{
    /// <summary>
    /// The n(n-1)/2 pairwise cosine similarities of each image's views: <paramref name="views"/> is [B, n, d] with
    /// L2-normalised rows; the result is [B, n(n-1)/2], pairs (i, j) with i &lt; j in row-major order.
    /// </summary>
    public static Tensor Pairwise(Tensor views)
    {
        using var scope = NewDisposeScope();
        var n = views.shape[1];
        // One pair (Alignment Calibration's two views) is one dot product per image; for many views the batched Gram
        // matrix is one fast kernel, of which the upper triangle is kept.
        if (n == 2) return (views[TensorIndex.Colon, 0] * views[TensorIndex.Colon, 1]).sum(-1, keepdim: true).MoveToOuterDisposeScope();
        var gram = views.bmm(views.transpose(1, 2));
        var upper = triu_indices(n, n, 1).to(views.device);
        return gram.index([TensorIndex.Colon, TensorIndex.Tensor(upper[0]), TensorIndex.Tensor(upper[1])]).MoveToOuterDisposeScope();
    }

    /// <summary>Each image's mean pairwise similarity, [B]: the threshold attack's score.</summary>
    public static Tensor Mean(Tensor views) => Pairwise(views).mean([1]);
}
