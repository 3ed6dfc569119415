using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace Lethe.Data;

/// <summary>
/// The SimCLR / EncoderMI view augmentation. <see cref="Strength"/> is SimCLR's colour-jitter strength s:
/// brightness, contrast and saturation vary by 0.8 s and hue by 0.2 s, so the default 0.5 gives
/// EncoderMI's 0.4 / 0.4 / 0.4 / 0.1. Grayscale images get crop, flip, brightness and contrast only.
/// </summary>
public sealed record AugmentationSettings
{
    public double CropScaleMin { get; init; } = 0.2;

    public double CropScaleMax { get; init; } = 1.0;

    public double CropRatioMin { get; init; } = 3.0 / 4.0;

    public double CropRatioMax { get; init; } = 4.0 / 3.0;

    public double FlipProbability { get; init; } = 0.5;

    public double Strength { get; init; } = 0.5;

    public double JitterProbability { get; init; } = 0.8;

    public double GrayscaleProbability { get; init; } = 0.2;

    /// <summary>EncoderMI's augmentation (the default).</summary>
    public static AugmentationSettings Standard { get; } = new();

    /// <summary>Milder views: larger crops and half the jitter; memorisation shows sooner under them.</summary>
    public static AugmentationSettings Weak { get; } = new() { CropScaleMin = 0.6, Strength = 0.25 };

    /// <summary>No change at all: views equal the input.</summary>
    public static AugmentationSettings None { get; } = new()
    {
        CropScaleMin = 1,
        CropScaleMax = 1,
        CropRatioMin = 1,
        CropRatioMax = 1,
        FlipProbability = 0,
        Strength = 0,
        JitterProbability = 0,
        GrayscaleProbability = 0,
    };

    public static AugmentationSettings FromName(string name) => name.Trim().ToLowerInvariant() switch
    {
        "standard" => Standard,
        "weak" => Weak,
        "none" => None,
        _ => throw new LetheException($"unknown augmentation '{name}': use standard, weak or none"),
    };

    public void Validate()
    {
        static bool Probability(double p) => p is >= 0 and <= 1;
        if (!(CropScaleMin > 0 && CropScaleMin <= CropScaleMax && CropScaleMax <= 1))
            throw new LetheException($"crop scale must satisfy 0 < min <= max <= 1, not {CropScaleMin}..{CropScaleMax}");
        if (!(CropRatioMin > 0 && CropRatioMin <= CropRatioMax))
            throw new LetheException($"crop aspect ratio must satisfy 0 < min <= max, not {CropRatioMin}..{CropRatioMax}");
        if (!Probability(FlipProbability) || !Probability(JitterProbability) || !Probability(GrayscaleProbability))
            throw new LetheException("augmentation probabilities must lie in [0, 1]");
        if (!(Strength is >= 0 and <= 1.25))
            throw new LetheException($"colour-jitter strength must lie in [0, 1.25] (hue shift at most a quarter turn), not {Strength}");
    }
}

/// <summary>
/// Makes random views of a batch of images (float B x C x H x W in [0, 1]) with batched tensor operations:
/// random resized crop and flip as one affine resampling, then colour jitter and grayscale as per-sample
/// factors. All randomness comes from the generator passed in, so a seed fixes every view.
/// </summary>
public sealed class ContrastiveAugmentation
{
    const int CropAttempts = 10;

    // Columns of the per-sample uniform draws.
    const int Flip = 2 * CropAttempts + 2;
    const int JitterOn = Flip + 1;
    const int Brightness = JitterOn + 1;
    const int Contrast = Brightness + 1;
    const int Saturation = Contrast + 1;
    const int Hue = Saturation + 1;
    const int GrayOn = Hue + 1;
    const int Draws = GrayOn + 1;

    public ContrastiveAugmentation(AugmentationSettings settings)
    {
        settings.Validate();
        Settings = settings;
    }

    public AugmentationSettings Settings { get; }

    /// <summary>One random view of each image.</summary>
    public Tensor Apply(Tensor images, Generator generator)
    {
        if (images.dim() != 4) throw new ArgumentException($"expected images B x C x H x W, got {images.dim()} dimensions");
        var (batch, channels, height, width) = ((int)images.shape[0], (int)images.shape[1], (int)images.shape[2], (int)images.shape[3]);
        if (channels is not 1 and not 3) throw new ArgumentException($"expected 1 or 3 channels, got {channels}");
        using var scope = NewDisposeScope();
        using var draws = rand(new long[] { batch, Draws }, ScalarType.Float64, generator: generator);
        var u = draws.data<double>().ToArray();

        var x = images.to_type(ScalarType.Float32);
        x = CropAndFlip(x, u, batch, height, width);
        if (Settings.Strength > 0 && Settings.JitterProbability > 0) x = Jitter(x, u, batch, channels);
        if (channels == 3 && Settings.GrayscaleProbability > 0)
        {
            var on = PerSample(batch, b => u[b * Draws + GrayOn] < Settings.GrayscaleProbability ? 1 : 0, images.device);
            x = torch.where(on.to_type(ScalarType.Bool), Gray(x).expand_as(x), x);
        }
        return x.MoveToOuterDisposeScope();
    }

    /// <summary>Two independent views of each image, as contrastive methods train on.</summary>
    public (Tensor First, Tensor Second) TwoViews(Tensor images, Generator generator) =>
        (Apply(images, generator), Apply(images, generator));

    Tensor CropAndFlip(Tensor x, double[] u, int batch, int height, int width)
    {
        var s = Settings;
        if (s.CropScaleMin >= 1 && s.FlipProbability <= 0) return x;
        var theta = new float[batch * 6];
        double logRatioMin = Math.Log(s.CropRatioMin), logRatioMax = Math.Log(s.CropRatioMax);
        var area = (double)height * width;
        for (var b = 0; b < batch; b++)
        {
            var row = b * Draws;
            // torchvision's RandomResizedCrop: up to ten tries at a box inside the image, else the whole image.
            double h = height, w = width, top = 0, left = 0;
            for (var attempt = 0; attempt < CropAttempts; attempt++)
            {
                var target = area * (s.CropScaleMin + (s.CropScaleMax - s.CropScaleMin) * u[row + 2 * attempt]);
                var ratio = Math.Exp(logRatioMin + (logRatioMax - logRatioMin) * u[row + 2 * attempt + 1]);
                var cw = Math.Round(Math.Sqrt(target * ratio));
                var ch = Math.Round(Math.Sqrt(target / ratio));
                if (cw > 0 && cw <= width && ch > 0 && ch <= height)
                {
                    (h, w) = (ch, cw);
                    top = Math.Floor(u[row + 2 * CropAttempts] * (height - ch + 1));
                    left = Math.Floor(u[row + 2 * CropAttempts + 1] * (width - cw + 1));
                    break;
                }
            }
            var flip = u[row + Flip] < s.FlipProbability ? -1.0 : 1.0;
            // Affine map from output to input in normalised coordinates (align_corners = false).
            theta[b * 6 + 0] = (float)(flip * w / width);
            theta[b * 6 + 2] = (float)((2 * left + w) / width - 1);
            theta[b * 6 + 4] = (float)(h / height);
            theta[b * 6 + 5] = (float)((2 * top + h) / height - 1);
        }
        using var thetaTensor = tensor(theta, new long[] { batch, 2, 3 }, device: x.device);
        using var grid = F.affine_grid(thetaTensor, x.shape, align_corners: false);
        return F.grid_sample(x, grid, GridSampleMode.Bilinear, GridSamplePaddingMode.Border, align_corners: false);
    }

    Tensor Jitter(Tensor x, double[] u, int batch, int channels)
    {
        var s = Settings;
        var amount = 0.8 * s.Strength;
        bool On(int b) => u[b * Draws + JitterOn] < s.JitterProbability;
        double Factor(int b, int column) => On(b) ? Math.Max(0, 1 + amount * (2 * u[b * Draws + column] - 1)) : 1;

        // A fixed order (brightness, contrast, saturation, hue); torchvision shuffles it per image.
        x = (x * PerSample(batch, b => Factor(b, Brightness), x.device)).clamp_(0, 1);
        var mean = Gray(x).mean(new long[] { 1, 2, 3 }, keepdim: true);
        x = ((x - mean) * PerSample(batch, b => Factor(b, Contrast), x.device) + mean).clamp_(0, 1);
        if (channels == 1) return x;

        var gray = Gray(x);
        x = ((x - gray) * PerSample(batch, b => Factor(b, Saturation), x.device) + gray).clamp_(0, 1);

        // Hue: a rotation of the chroma plane in YIQ space by up to 0.2 s of a full turn.
        var rotations = new float[batch * 9];
        for (var b = 0; b < batch; b++)
        {
            var angle = On(b) ? 2 * Math.PI * 0.2 * s.Strength * (2 * u[b * Draws + Hue] - 1) : 0;
            HueMatrix(angle).CopyTo(rotations, b * 9);
        }
        using var matrices = tensor(rotations, new long[] { batch, 3, 3 }, device: x.device);
        var flat = x.reshape(batch, 3, -1);
        return matmul(matrices, flat).reshape(x.shape).clamp_(0, 1);
    }

    static Tensor Gray(Tensor x)
    {
        if (x.shape[1] == 1) return x;
        return (x[.., 0..1] * 0.299f) + (x[.., 1..2] * 0.587f) + (x[.., 2..3] * 0.114f);
    }

    /// <summary>One value per sample, shaped B x 1 x 1 x 1 to broadcast over an image batch.</summary>
    static Tensor PerSample(int batch, Func<int, double> value, Device device)
    {
        var values = new float[batch];
        for (var b = 0; b < batch; b++) values[b] = (float)value(b);
        return tensor(values, new long[] { batch, 1, 1, 1 }, device: device);
    }

    // RGB -> YIQ, rotate I and Q, YIQ -> RGB. The way back is the exact inverse, so a zero angle is the identity.
    static readonly double[,] ToYiq = { { 0.299, 0.587, 0.114 }, { 0.596, -0.274, -0.322 }, { 0.211, -0.523, 0.312 } };
    static readonly double[,] ToRgb = Inverse(ToYiq);

    internal static float[] HueMatrix(double angle)
    {
        double cos = Math.Cos(angle), sin = Math.Sin(angle);
        double[,] rotate = { { 1, 0, 0 }, { 0, cos, -sin }, { 0, sin, cos } };
        var result = new float[9];
        for (var i = 0; i < 3; i++)
        {
            for (var j = 0; j < 3; j++)
            {
                double sum = 0;
                for (var k = 0; k < 3; k++)
                {
                    for (var l = 0; l < 3; l++) sum += ToRgb[i, k] * rotate[k, l] * ToYiq[l, j];
                }
                result[i * 3 + j] = (float)sum;
            }
        }
        return result;
    }

    static double[,] Inverse(double[,] m)
    {
        var det = m[0, 0] * (m[1, 1] * m[2, 2] - m[1, 2] * m[2, 1])
            - m[0, 1] * (m[1, 0] * m[2, 2] - m[1, 2] * m[2, 0])
            + m[0, 2] * (m[1, 0] * m[2, 1] - m[1, 1] * m[2, 0]);
        var inverse = new double[3, 3];
        for (var i = 0; i < 3; i++)
        {
            for (var j = 0; j < 3; j++)
            {
                // Cofactor of (j, i) over the determinant.
                int r0 = (j + 1) % 3, r1 = (j + 2) % 3, c0 = (i + 1) % 3, c1 = (i + 2) % 3;
                inverse[i, j] = (m[r0, c0] * m[r1, c1] - m[r0, c1] * m[r1, c0]) / det;
            }
        }
        return inverse;
    }
}
