using TorchSharp;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Lethe.Models;

/// <summary>A small convolutional backbone for fast CPU runs (see <see cref="EncoderSettings"/>).</summary>
public sealed class SmallCnn : Module<Tensor, Tensor>, IBackbone, IFoldable
{
    readonly Module<Tensor, Tensor> features;
    readonly Module<Tensor, Tensor> top;

    public SmallCnn(int channels, int height, int width, EncoderSettings settings) : base("small_cnn")
    {
        var w = settings.Width;
        features = Sequential(
            ("conv1", Conv2d(channels, w, 3, padding: 1, bias: false)), ("bn1", BatchNorm2d(w)), ("relu1", ReLU()), ("pool1", MaxPool2d(2)),
            ("conv2", Conv2d(w, 2 * w, 3, padding: 1, bias: false)), ("bn2", BatchNorm2d(2 * w)), ("relu2", ReLU()), ("pool2", MaxPool2d(2)),
            ("conv3", Conv2d(2 * w, 4 * w, 3, padding: 1, bias: false)), ("bn3", BatchNorm2d(4 * w)), ("relu3", ReLU()));
        if (settings.Pooled)
        {
            top = Sequential(("pool", AdaptiveAvgPool2d(1)), ("flatten", Flatten()));
            FeatureDim = 4 * w;
        }
        else
        {
            var flat = 4 * w * (height / 4) * (width / 4);
            top = Sequential(("flatten", Flatten()), ("fc", Linear(flat, settings.FeatureDim)), ("relu", ReLU()));
            FeatureDim = settings.FeatureDim;
        }
        RegisterComponents();
    }

    public int FeatureDim { get; }

    public override Tensor forward(Tensor input) => top.forward(features.forward(input));

    public FoldedInference FoldBatchNorm() => FoldedInference.Chain(BatchNormFolding.Sequence(features), BatchNormFolding.Sequence(top));
}
