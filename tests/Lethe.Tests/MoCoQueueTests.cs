using Lethe.Contrastive;
using Lethe.Models;
using Lethe.Runtime;
using Lethe.Training;
using static TorchSharp.torch;

namespace Lethe.Tests;

public class MoCoQueueTests
{
    static MoCo Model(int queueSize)
    {
        TorchRuntime.EnsureLoaded();
        var encoder = new EncoderSettings { Width = 2, FeatureDim = 4, HeadHidden = 4, HeadDim = 3 };
        return new MoCo(new TrainingSettings { Method = "moco", Encoder = encoder, Temperature = 0.1, QueueSize = queueSize, KeyMomentum = 0.9 }, 1, 8, 8);
    }

    static Tensor Keys(int count, float start) => arange(start, start + count * 3, 1f).reshape(count, 3);

    [Fact]
    public void EnqueueWritesAtThePointerAndWrapsAround()
    {
        using var scope = NewDisposeScope();
        var moco = Model(queueSize: 5);
        moco.Enqueue(Keys(3, 0));
        Assert.Equal(3, moco.QueuePointer);
        Assert.True(moco.Queue[..3].equal(Keys(3, 0)).all().item<bool>());
        moco.Enqueue(Keys(3, 100));
        Assert.Equal(1, moco.QueuePointer);
        var second = Keys(3, 100);
        Assert.True(moco.Queue[3].equal(second[0]).all().item<bool>());
        Assert.True(moco.Queue[4].equal(second[1]).all().item<bool>());
        Assert.True(moco.Queue[0].equal(second[2]).all().item<bool>());
        Assert.True(moco.Queue[1].equal(Keys(3, 0)[1]).all().item<bool>());
    }

    [Fact]
    public void KeyEncoderStartsAsACopyAndFollowsByMomentum()
    {
        using var scope = NewDisposeScope();
        var moco = Model(queueSize: 8);
        var state = moco.state_dict();
        var query = state["backbone.features.conv1.weight"];
        var key = state["key_backbone.features.conv1.weight"];
        Assert.True(query.equal(key).all().item<bool>());
        Assert.DoesNotContain(moco.TrainableParameters(), p => ReferenceEquals(p, key));
        using (no_grad()) query.add_(1.0);
        var keyBefore = key.clone();
        moco.UpdateKeyEncoder();
        Assert.True(key.allclose(keyBefore * 0.9 + query * 0.1, rtol: 0, atol: 1e-6));
    }
}
