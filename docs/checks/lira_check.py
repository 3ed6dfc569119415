#!/usr/bin/python3
"""Independent recomputation of the LiRA table (docs/results/reproduce-small/tables/lira.md) from the cached cells.

Method (docs/lira.md, "The design"): every reference model is the target once; for each pool sample, its scores under
the OTHER models where it was forgotten / never seen give per-sample means and one variance per hypothesis pooled over
samples (within-sample sum of squares / sum of (n_j - 1), samples with n_j >= 2). A sample forgotten by none of the
others gets mu_f = mu_u + mean gap (mean of mu_f - mu_u over samples having both). Statistic:
log N(s; mu_f, sd_f) - log N(s; mu_u, sd_u). Positives: target's forgotten samples; negatives: target's never-seen ones,
pooled over the targets. AUC: sklearn roc_auc_score. TPR at a% FPR: the C# rule (MembershipMetrics.TprAtFpr): threshold
"score >= t" swept over the distinct scores, highest TPR among ROC points (incl. (0,0)) with FPR <= a + 1e-12.
"""
import json, os, re, sys
import numpy as np
from scipy.stats import norm
from sklearn.metrics import roc_auc_score, roc_curve

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "results", "reproduce-small")
LIRA = os.path.join(ROOT, "lira/seed-1/fashion-mnist")
TABLE = os.path.join(ROOT, "tables/lira.md")
TABLE_JSON = os.path.join(ROOT, "tables/lira.json")  # same table, values at full double precision
K = 8
ROLE = {"unseen": 0, "retained": 1, "forgotten": 2}
TREATMENTS = {
    "moco": [("nothing unlearned", "original"), ("MemGP (paper, optimized)", "memgp"), ("GP (paper, full)", "gp"),
             ("fine-tune", "finetune"), ("NegGrad", "neggrad"), ("NegGrad+", "neggrad+"),
             ("Alignment Calibration", "alignment")],
    "classifier": [("nothing unlearned", "original"), ("MemGP (paper, optimized)", "memgp"), ("GP (paper, full)", "gp"),
                   ("fine-tune", "finetune"), ("NegGrad", "neggrad"), ("NegGrad+", "neggrad+"),
                   ("random labels", "random-labels")],
}
KIND_NAME = {"moco": "MoCo", "classifier": "classifier"}


def load(kind, label):
    cells = [json.load(open(os.path.join(LIRA, kind, f"ref-{i:02d}", label + ".json"))) for i in range(K)]
    pool = np.array(cells[0]["pool"])
    for c in cells:
        assert np.array_equal(np.array(c["pool"]), pool), "pools differ"
    roles = np.array([[ROLE[r.lower()] for r in c["roles"]] for c in cells])
    scores = np.array([c["scores"] for c in cells], dtype=float)
    secs = [c["unlearningSeconds"] for c in cells]
    return pool, roles, scores, secs, cells


def fit_excluding(t, roles, scores):
    """Per-sample fits of forgotten (in) and never-seen (out) from the models other than t, computed from scratch."""
    others = [m for m in range(len(roles)) if m != t]
    R, S = roles[others], scores[others]
    n = R.shape[1]

    def stats(role):
        mask = R == role
        cnt = mask.sum(0)
        mean = np.full(n, np.nan)
        has = cnt > 0
        mean[has] = np.where(mask, S, 0).sum(0)[has] / cnt[has]
        dev2 = np.where(mask, (S - np.nan_to_num(mean)) ** 2, 0).sum(0)
        two = cnt >= 2
        dof = (cnt[two] - 1).sum()
        var = dev2[two].sum() / dof if dof > 0 else None
        return cnt, mean, var

    ci, mi, vi = stats(ROLE["forgotten"])
    co, mo, vo = stats(ROLE["unseen"])
    both = (ci > 0) & (co > 0)
    gap = np.mean(mi[both] - mo[both])
    mu_in, mu_out = mi.copy(), mo.copy()
    only_out = (ci == 0) & (co > 0)
    only_in = (ci > 0) & (co == 0)
    mu_in[only_out] = mo[only_out] + gap
    mu_out[only_in] = mi[only_in] - gap
    neither = (ci == 0) & (co == 0)
    mu_in[neither], mu_out[neither] = gap, 0.0
    if vi is None: vi = vo
    if vo is None: vo = vi
    diag = dict(only_out=int(only_out.sum()), only_in=int(only_in.sum()), neither=int(neither.sum()), gap=gap,
                sd_in=np.sqrt(vi), sd_out=np.sqrt(vo))
    return mu_in, mu_out, np.sqrt(max(vi, 1e-12)), np.sqrt(max(vo, 1e-12)), diag


def lira(roles, scores):
    pos, neg, diags = [], [], []
    for t in range(len(roles)):
        mu_in, mu_out, sd_in, sd_out, d = fit_excluding(t, roles, scores)
        llr = norm.logpdf(scores[t], mu_in, sd_in) - norm.logpdf(scores[t], mu_out, sd_out)
        pos.append(llr[roles[t] == ROLE["forgotten"]])
        neg.append(llr[roles[t] == ROLE["unseen"]])
        diags.append(d)
    return np.concatenate(pos), np.concatenate(neg), diags


def tpr_at_fpr_csharp(pos, neg, a):
    """MembershipMetrics.Roc + TprAtFpr: call 'member' when score >= threshold, thresholds = distinct scores;
    max TPR over ROC points (incl. (0,0)) with FPR <= a + 1e-12."""
    s = np.concatenate([pos, neg]); y = np.concatenate([np.ones(len(pos)), np.zeros(len(neg))])
    order = np.argsort(-s, kind="mergesort"); s, y = s[order], y[order]
    last = np.r_[s[1:] != s[:-1], True]           # last index of each run of equal scores
    tpr = np.r_[0.0, np.cumsum(y)[last] / len(pos)]
    fpr = np.r_[0.0, np.cumsum(1 - y)[last] / len(neg)]
    return tpr[fpr <= a + 1e-12].max()


def tpr_at_fpr_sklearn_interp(pos, neg, a):
    """An alternative rule (linear interpolation of sklearn's ROC at FPR = a), for sensitivity only."""
    y = np.r_[np.ones(len(pos)), np.zeros(len(neg))]
    fpr, tpr, _ = roc_curve(y, np.r_[pos, neg])
    return float(np.interp(a, fpr, tpr))


def parse_table():
    rows = {}
    for line in open(TABLE):
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 9 and cells[2].isdigit():
            pct = lambda x: float(x.rstrip("%")) / 100
            sec = None if cells[8] in ("–", "-") else float(cells[8])
            rows[(cells[0], cells[1])] = dict(pos=int(cells[2]), neg=int(cells[3]), auc=float(cells[4]),
                                              tpr1=pct(cells[5]), tpr01=pct(cells[6]), fpallowed=cells[7], sec=sec)
    return rows


def parse_table_json():
    """Full-precision C# values from tables/lira.json (cell 'values'), plus the printed text for the md check."""
    d = json.load(open(TABLE_JSON))
    rows = {}
    for r in d["rows"]:
        v = lambda c: c["values"][0] if c["values"] else None
        rows[(r[0]["text"], r[1]["text"])] = dict(pos=int(r[2]["text"]), neg=int(r[3]["text"]), auc=v(r[4]), tpr1=v(r[5]),
                                                   tpr01=v(r[6]), sec=v(r[8]), text=[c["text"] for c in r])
    return rows


def structural_checks(kind):
    """Pairs on complementary halves, forget = 51 of each half, roles identical across treatments per reference."""
    msgs = []
    base_roles = None
    for _, label in TREATMENTS[kind]:
        pool, roles, scores, _, cells = load(kind, label)
        if base_roles is None:
            base_roles = roles
            seen = roles != ROLE["unseen"]
            for p in range(0, K, 2):
                if not np.all(seen[p] ^ seen[p + 1]): msgs.append(f"{kind}: refs {p},{p+1} not complementary")
            if not np.all(seen.sum(0) == K // 2): msgs.append(f"{kind}: a sample is not in exactly half of the models")
            nf = (roles == ROLE["forgotten"]).sum(1)
            msgs.append(f"{kind}: forgotten per model {sorted(set(nf.tolist()))}, members per model {sorted(set(seen.sum(1).tolist()))}, "
                        f"times forgotten per sample (of {K}) histogram {np.bincount((roles == ROLE['forgotten']).sum(0)).tolist()}")
        elif not np.array_equal(roles, base_roles):
            msgs.append(f"{kind}/{label}: roles differ from 'original'")
        for i, c in enumerate(cells):
            sig = json.loads(c["signature"])
            mem = set(sig["members"]); fg = set(sig["forget"])
            r = np.array([ROLE[x.lower()] for x in c["roles"]]); pl = c["pool"]
            exp = np.array([2 if pid in fg else 1 if pid in mem else 0 for pid in pl])
            if not np.array_equal(r, exp): msgs.append(f"{kind}/ref-{i:02d}/{label}: roles disagree with signature")
            if (sig["unlearning"] is None) != (label == "original"): msgs.append(f"{kind}/ref-{i:02d}/{label}: unlearning setting mismatch")
            if not np.all(np.isfinite(scores[i])): msgs.append(f"{kind}/ref-{i:02d}/{label}: non-finite score")
    return msgs


def main():
    table, tjson = parse_table(), parse_table_json()
    for key, r in tjson.items():  # the md is the json's text
        m = table[key]
        assert (m["auc"], m["tpr1"], m["tpr01"]) == (float(r["text"][4]), float(r["text"][5].rstrip("%")) / 100,
                                                      float(r["text"][6].rstrip("%")) / 100), key
    print(f"lira.md and lira.json agree on all {len(tjson)} rows; C# values below are lira.json's full-precision ones.\n")
    out, maxdiff = [], {}
    print("Structural checks:")
    for kind in TREATMENTS:
        for m in structural_checks(kind): print("  " + m)
    print()
    hdr = f"{'row':44s} {'metric':10s} {'C#':>9s} {'Python':>11s} {'diff':>10s}  note"
    print(hdr); print("-" * len(hdr))
    for kind, treatments in TREATMENTS.items():
        for disp, label in treatments:
            pool, roles, scores, secs, _ = load(kind, label)
            pos, neg, diags = lira(roles, scores)
            auc = roc_auc_score(np.r_[np.ones(len(pos)), np.zeros(len(neg))], np.r_[pos, neg])
            t1, t01 = tpr_at_fpr_csharp(pos, neg, 0.01), tpr_at_fpr_csharp(pos, neg, 0.001)
            i1, i01 = tpr_at_fpr_sklearn_interp(pos, neg, 0.01), tpr_at_fpr_sklearn_interp(pos, neg, 0.001)
            fp_allowed = int(np.floor(0.001 * len(neg) + 1e-9))
            sec = None if label == "original" else sum(s or 0 for s in secs) / K
            exp = tjson[(KIND_NAME[kind], disp)]
            row = f"{KIND_NAME[kind]} / {disp}"
            rows = [("positives", exp["pos"], len(pos), 0, "%d"), ("negatives", exp["neg"], len(neg), 0, "%d"),
                    ("AUC", exp["auc"], auc, 1e-9, "%.6f"), ("TPR@1%", exp["tpr1"], t1, 1e-12, "%.6f"),
                    ("TPR@0.1%", exp["tpr01"], t01, 1e-12, "%.6f")]
            if sec is not None: rows.append(("seconds", exp["sec"], sec, 1e-9, "%.4f"))
            for name, e, p, tol, fmt in rows:
                d = p - e
                note = "ok" if abs(d) <= tol else "MISMATCH"
                if name == "TPR@1%": note += f"; interp-rule {i1:.4f}"
                if name == "TPR@0.1%": note += f"; interp-rule {i01:.4f}; FP allowed {fp_allowed} (table {exp['text'][7]})"
                print(f"{row:44s} {name:10s} {fmt % e:>9s} {fmt % p:>11s} {d:+10.1e}  {note}")
                maxdiff[name] = max(maxdiff.get(name, 0), abs(d))
            d0 = diags[0]
            print(f"{'':44s} fit diag (target 0): imputed-forgotten {d0['only_out']}, imputed-unseen {d0['only_in']}, "
                  f"neither {d0['neither']}, gap {d0['gap']:+.3f}, sd_f {d0['sd_in']:.3f}, sd_u {d0['sd_out']:.3f}")
    print("\nMax |difference| per metric:", {k: float("%.2e" % v) for k, v in maxdiff.items()})


if __name__ == "__main__":
    main()
