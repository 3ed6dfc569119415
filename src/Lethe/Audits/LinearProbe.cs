using Lethe.Runtime;
using static TorchSharp.torch;

namespace Lethe.Audits;

/// <summary>A linear classifier trained on frozen features; its test accuracy measures how linearly useful they are.</summary>
public static class LinearProbe
{
    /// <summary>Trains softmax regression (Adam, full batch, standardised features) and returns the test accuracy.</summary>
    public static double Accuracy(Tensor trainFeatures, long[] trainLabels, Tensor testFeatures, long[] testLabels, int classes,
        int epochs = 300, double learningRate = 0.05, double weightDecay = 1e-4, long seed = 0)
    {
        using var grad = enable_grad(); // training needs autograd even when an audit runs inside no_grad
        using var scope = NewDisposeScope();
        var mean = trainFeatures.mean([0], keepdim: true);
        var std = trainFeatures.std(0, keepdim: true) + 1e-6;
        var x = ((trainFeatures - mean) / std).detach();
        var y = tensor(trainLabels, device: x.device);
        using var generator = new Generator((ulong)Seeds.Derive(seed, "linear-probe"));
        var weight = new TorchSharp.Modules.Parameter((randn(x.shape[1], classes, generator: generator) * 0.01).to(x.device));
        var bias = new TorchSharp.Modules.Parameter(zeros(classes, device: x.device));
        var optimizer = optim.Adam([weight, bias], lr: learningRate, weight_decay: weightDecay);
        for (var epoch = 0; epoch < epochs; epoch++)
        {
            using var step = NewDisposeScope();
            optimizer.zero_grad();
            nn.functional.cross_entropy(matmul(x, weight) + bias, y).backward();
            optimizer.step();
        }
        using var noGrad = no_grad();
        var test = (testFeatures - mean) / std;
        // data<T> reads host memory only: the predictions come back from the features' device first.
        var predicted = (matmul(test, weight) + bias).argmax(1).cpu().data<long>().ToArray();
        return predicted.Zip(testLabels).Count(p => p.First == p.Second) / (double)testLabels.Length;
    }
}
