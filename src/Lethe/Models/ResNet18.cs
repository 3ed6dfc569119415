using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Lethe.Models;

/// <summary>
/// ResNet-18: a stem (by default the CIFAR form, a 3x3 stride-1 convolution without max-pooling; see
/// <see cref="EncoderSettings.Stem"/>) and four stages of two basic blocks, as torchvision lays them out.
/// </summary>
public sealed class ResNet18 : Module<Tensor, Tensor>, IBackbone, IFoldable
{
    readonly Module<Tensor, Tensor> stem;
    readonly Module<Tensor, Tensor> layers;
    readonly Module<Tensor, Tensor> pool;

    public ResNet18(int channels, EncoderSettings settings) : base("resnet18")
    {
        var w = settings.Width;
        stem = settings.StemKind switch
        {
            "imagenet" => Sequential(("conv", Conv2d(channels, w, 7, stride: 2, padding: 3, bias: false)), ("bn", BatchNorm2d(w)), ("relu", ReLU()),
                ("maxpool", MaxPool2d(3, stride: 2, padding: 1))),
            "cifar-pad2" => Sequential(("conv", Conv2d(channels, w, 3, padding: 2, bias: false)), ("bn", BatchNorm2d(w)), ("relu", ReLU())),
            _ => Sequential(("conv", Conv2d(channels, w, 3, padding: 1, bias: false)), ("bn", BatchNorm2d(w)), ("relu", ReLU())),
        };
        layers = Sequential(
            ("layer1", Stage(w, w, 1)), ("layer2", Stage(w, 2 * w, 2)), ("layer3", Stage(2 * w, 4 * w, 2)), ("layer4", Stage(4 * w, 8 * w, 2)));
        pool = Sequential(("pool", AdaptiveAvgPool2d(1)), ("flatten", Flatten()));
        FeatureDim = 8 * w;
        RegisterComponents();
    }

    public int FeatureDim { get; }

    public override Tensor forward(Tensor input) => pool.forward(layers.forward(stem.forward(input)));

    public FoldedInference FoldBatchNorm() =>
        FoldedInference.Chain(BatchNormFolding.Sequence(stem), BatchNormFolding.Sequence(layers), BatchNormFolding.Sequence(pool));

    static Module<Tensor, Tensor> Stage(int input, int output, int stride) =>
        Sequential(("0", new BasicBlock(input, output, stride)), ("1", new BasicBlock(output, output, 1)));

    sealed class BasicBlock : Module<Tensor, Tensor>, IFoldable
    {
        readonly Conv2d conv1, conv2;
        readonly BatchNorm2d bn1, bn2;
        readonly Module<Tensor, Tensor>? shortcut;

        public BasicBlock(int input, int output, int stride) : base("basic_block")
        {
            conv1 = Conv2d(input, output, 3, stride: stride, padding: 1, bias: false);
            bn1 = BatchNorm2d(output);
            conv2 = Conv2d(output, output, 3, padding: 1, bias: false);
            bn2 = BatchNorm2d(output);
            if (stride != 1 || input != output)
                shortcut = Sequential(("conv", Conv2d(input, output, 1, stride: stride, bias: false)), ("bn", BatchNorm2d(output)));
            RegisterComponents();
        }

        public override Tensor forward(Tensor x)
        {
            using var scope = NewDisposeScope();
            var y = functional.relu(bn1.forward(conv1.forward(x)));
            y = bn2.forward(conv2.forward(y));
            var skip = shortcut is null ? x : shortcut.forward(x);
            return functional.relu(y + skip).MoveToOuterDisposeScope();
        }

        public FoldedInference FoldBatchNorm()
        {
            var first = BatchNormFolding.Fold(conv1, bn1);
            var second = BatchNormFolding.Fold(conv2, bn2);
            var folded = shortcut is null ? null : BatchNormFolding.Sequence(shortcut);
            return FoldedInference.Over(x =>
            {
                using var scope = NewDisposeScope();
                // In place where the tensor is this forward's own: the same sums, fewer allocations.
                var y = second.Forward(first.Forward(x).relu_());
                y.add_(folded is null ? x : folded.Forward(x)).relu_();
                return y.MoveToOuterDisposeScope();
            }, first, second, folded);
        }
    }
}
