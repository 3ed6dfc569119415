using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Lethe.Training;

/// <summary>
/// Adam whose step is libtorch's fused CPU kernel (<c>torch._fused_adam_</c>, one vectorised pass per parameter that
/// updates both moments and the weight) instead of TorchSharp's managed step (eight tensor operations and two
/// temporaries per parameter). TorchSharp 0.107 exposes neither the fused kernel nor the <c>_foreach_</c> operations, and
/// its TorchScript calls take no tensor lists, so the call goes through a small TorchScript function compiled for the
/// number of parameters. The state (moments, step counts) and its checkpoint format are TorchSharp's Adam's.
/// </summary>
public static class FusedAdam
{
    /// <summary>On unless LETHE_FUSED_ADAM=0 (for A/B runs against TorchSharp's Adam).</summary>
    public static bool Enabled { get; set; } = Environment.GetEnvironmentVariable("LETHE_FUSED_ADAM") != "0";

    /// <summary>The Adam Lethe trains with: the fused one, or TorchSharp's when fusing is off.</summary>
    public static TorchSharp.Modules.Adam Create(IEnumerable<Parameter> parameters, double lr, double weightDecay = 0) =>
        Enabled ? new Adam(parameters, lr, weightDecay) : optim.Adam(parameters, lr: lr, weight_decay: weightDecay);

    /// <summary>
    /// Named Adam because TorchSharp writes the optimizer's type name into its state and checks it on loading: checkpoints
    /// move between this and TorchSharp's Adam both ways.
    /// </summary>
    public sealed class Adam(IEnumerable<Parameter> parameters, double lr, double weightDecay)
        : TorchSharp.Modules.Adam(parameters, lr, weight_decay: weightDecay)
    {
        /// <summary>
        /// Compiled step functions by parameter count; null when TorchScript cannot compile the call. Each optimizer has
        /// its own, so that no TorchScript function is run by two threads at once.
        /// </summary>
        readonly Dictionary<int, jit.CompilationUnit?> units = [];

        readonly Dictionary<IntPtr, Tensor> steps = [];

        /// <summary>Whether the last step ran the fused kernel (rather than falling back to TorchSharp's step).</summary>
        internal bool LastStepFused { get; private set; }

        public override Tensor step(Func<Tensor>? closure = null)
        {
            LastStepFused = false;
            if (closure is not null) return base.step(closure);
            using var noGrad = no_grad();
            using var scope = NewDisposeScope();
            var calls = new List<(jit.CompilationUnit Unit, Parameter[] Parameters, Tensor[] Grads, Options Options)>();
            foreach (var group in _parameter_groups)
            {
                var options = (Options)group.Options;
                var trained = group.Parameters.Select(p => (Parameter: p, Grad: p.grad)).Where(p => p.Grad is not null).ToArray();
                if (trained.Length == 0) continue;
                // AMSGrad, maximising and a script libtorch cannot compile are left to TorchSharp's step.
                if (options.amsgrad == true || options.maximize == true || Unit(trained.Length) is not { } unit) return base.step();
                calls.Add((unit, [.. trained.Select(p => p.Parameter)], [.. trained.Select(p => p.Grad!)], options));
            }
            foreach (var (unit, parameters, grads, options) in calls)
            {
                var states = parameters.Select(p => (State)_state[p.Handle]).ToArray();
                var counts = new Tensor[parameters.Length];
                for (var i = 0; i < parameters.Length; i++)
                {
                    states[i].step += 1;
                    if (!steps.TryGetValue(parameters[i].Handle, out var count))
                        steps[parameters[i].Handle] = count = tensor(0f, device: parameters[i].device).DetachFromDisposeScope();
                    // The kernel reads the step count from a tensor; TorchSharp's state (and checkpoints) keep it as a number.
                    using var step = states[i].step.ToScalar();
                    counts[i] = count.fill_(step);
                }
                // Scalars made here and disposed after the call. Given doubles, TorchSharp makes the scalars itself and keeps
                // only their handles, so a collection before the call could free one that the call then read.
                using var lr = options.LearningRate!.Value.ToScalar();
                using var beta1 = options.beta1!.Value.ToScalar();
                using var beta2 = options.beta2!.Value.ToScalar();
                using var weightDecay = options.weight_decay!.Value.ToScalar();
                using var eps = options.eps!.Value.ToScalar();
                object[] arguments =
                [
                    .. parameters, .. grads, .. states.Select(s => s.exp_avg), .. states.Select(s => s.exp_avg_sq), .. counts,
                    lr, beta1, beta2, weightDecay, eps,
                ];
                unit.invoke("step", arguments);
            }
            LastStepFused = calls.Count > 0;
            return null!;
        }

        protected override void Dispose(bool disposing)
        {
            base.Dispose(disposing);
            foreach (var count in steps.Values) count.Dispose();
            steps.Clear();
            foreach (var unit in units.Values) unit?.Dispose();
            units.Clear();
        }

        jit.CompilationUnit? Unit(int n)
        {
            if (units.TryGetValue(n, out var unit)) return unit;
            try
            {
                unit = jit.compile(Script(n));
            }
            catch (Exception e) when (e is ExternalException or NotImplementedException or ArgumentException)
            {
                unit = null;
            }
            units[n] = unit;
            return unit;
        }

        static string Script(int n)
        {
            string List(string name) => "[" + string.Join(", ", Enumerable.Range(0, n).Select(i => $"{name}{i}")) + "]";
            string Arguments(string name) => string.Join(", ", Enumerable.Range(0, n).Select(i => $"{name}{i}: Tensor"));
            var script = new StringBuilder();
            script.Append(CultureInfo.InvariantCulture,
                $"def step({Arguments("p")}, {Arguments("g")}, {Arguments("m")}, {Arguments("v")}, {Arguments("s")}, lr: float, beta1: float, beta2: float, weight_decay: float, eps: float) -> Tensor:\n");
            script.Append(CultureInfo.InvariantCulture, $"    parameters = {List("p")}\n");
            script.Append(CultureInfo.InvariantCulture,
                $"    torch._fused_adam_(parameters, {List("g")}, {List("m")}, {List("v")}, [], {List("s")}, lr=lr, beta1=beta1, beta2=beta2, weight_decay=weight_decay, eps=eps, amsgrad=False, maximize=False)\n");
            // A result read from the updated list: TorchScript drops an in-place call on lists that nothing reads afterwards.
            script.Append("    return parameters[0]\n");
            return script.ToString();
        }
    }
}
