#!/usr/bin/env python3
"""Reads a SCIM_TRACE file (see examples/support/src/trace.rs) and says where the slowest
requests spent their time: usage: tail_trace.py TRACE [SKIP_SECONDS]"""
import bisect, collections, sys

path = sys.argv[1]
skip = float(sys.argv[2]) if len(sys.argv) > 2 else 1.0
R, W, G, C, K = [], [], [], [], collections.defaultdict(list)
for line in open(path):
    f = line.split()
    if not f:
        continue
    k = f[0]
    try:
        if k == 'r': R.append((int(f[1]), int(f[2]), f[3], int(f[4])))
        elif k == 'w': W.append((int(f[1]), int(f[2]), f[3], int(f[4])))
        elif k == 'g': G.append((int(f[1]), int(f[2]), f[3], int(f[4]), int(f[5])))
        elif k == 'c': C.append((int(f[1]), int(f[2]), f[4], int(f[5]), int(f[6])))
        elif k == 'k': K[f[2]].append(int(f[1]))
    except (IndexError, ValueError):
        pass
t_first = min(r[0] for r in R)
t_from = t_first + skip * 1e9
R = [r for r in R if r[0] >= t_from]
R.sort()
W.sort(); G.sort(); C.sort()
def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(len(xs) * p))] if xs else float('nan')
ms = lambda ns: ns / 1e6
dur = [r[1] - r[0] for r in R]
span = (R[-1][1] - R[0][0]) / 1e9
print(f"requests {len(R)} over {span:.1f} s: server time p50 {ms(pct(dur,.5)):.2f} p90 {ms(pct(dur,.9)):.2f} p99 {ms(pct(dur,.99)):.2f} p99.9 {ms(pct(dur,.999)):.2f} ms")
# The cycle of a connection: from the end of one answer to the end of the next (what wrk
# sees as latency, plus wrk's own turnaround).
byconn = collections.defaultdict(list)
for r in R: byconn[r[3]].append(r)
cyc, gap = [], []
cyc_of = {}
for c, rs in byconn.items():
    for a, b in zip(rs, rs[1:]):
        cyc.append(b[1] - a[1]); gap.append(b[0] - a[1]); cyc_of[b] = (b[1] - a[1], b[0] - a[1])
print(f"cycle per connection p50 {ms(pct(cyc,.5)):.2f} p99 {ms(pct(cyc,.99)):.2f}; gap (answer to next start) p50 {ms(pct(gap,.5)):.2f} p99 {ms(pct(gap,.99)):.2f} ms")
# Write of each request: the w on the same thread inside it.
wby = collections.defaultdict(list)
for w in W: wby[w[2]].append(w)
for t in wby: wby[t].sort()
def write_of(r):
    ws = wby[r[2]]
    i = bisect.bisect_left(ws, (r[0],))
    while i < len(ws) and ws[i][0] <= r[1]:
        if ws[i][1] <= r[1]: return ws[i]
        i += 1
    return None
# Checkpoint busy intervals
cint = [(c[0], c[1], c[2]) for c in C]
cstarts = [c[0] for c in cint]
def overlaps_ckpt(a, b, kinds=None):
    i = bisect.bisect_right(cstarts, b) - 1
    tot = 0
    while i >= 0 and i >= bisect.bisect_right(cstarts, a) - 3:
        s, e, kind = cint[i]
        if (kinds is None or kind in kinds) and e > a and s < b:
            tot += min(b, e) - max(a, s)
        i -= 1
    return tot
ck_time = sum(min(c[1], R[-1][1]) - max(c[0], R[0][0]) for c in cint if c[1] > R[0][0] and c[0] < R[-1][1])
print(f"checkpoint steps: {len(C)}; share of the time a checkpoint step runs: {ck_time / (span*1e9):.1%}")
for kind in ('passive', 'presync', 'pause'):
    ds = [c[1]-c[0] for c in C if c[2] == kind]
    if ds: print(f"  {kind}: n {len(ds)} p50 {ms(pct(ds,.5)):.2f} p90 {ms(pct(ds,.9)):.2f} max {ms(max(ds)):.2f} ms")
gs = [g[3] for g in G]; gd = [g[1]-g[0] for g in G]; gc = [g[4] for g in G]
print(f"groups: {len(G)}, size mean {sum(gs)/len(gs):.2f} p50 {pct(gs,.5)} p99 {pct(gs,.99)}; group time p50 {ms(pct(gd,.5)):.3f} p99 {ms(pct(gd,.99)):.3f} ms; commit p50 {ms(pct(gc,.5)):.3f} p99 {ms(pct(gc,.99)):.3f} max {ms(max(gc)):.2f} ms")
thr = pct(dur, .99)
for label, sel in (("slowest 1%", [r for r in R if r[1]-r[0] >= thr]), ("the rest", [r for r in R if r[1]-r[0] < thr])):
    n = len(sel)
    wt, led, pre, post, ovl, ovl_any = [], 0, [], [], 0, 0
    for r in sel:
        w = write_of(r)
        if w:
            wt.append(w[1]-w[0]); led += w[3]; pre.append(w[0]-r[0]); post.append(r[1]-w[1])
        o = overlaps_ckpt(r[0], r[1])
        ovl += o; ovl_any += o > 0
    d = [r[1]-r[0] for r in sel]
    print(f"{label}: n {n}, server time mean {ms(sum(d)/n):.2f} ms; write wait mean {ms(sum(wt)/max(1,len(wt))):.2f} ms (led {led/max(1,len(wt)):.0%}), before it {ms(sum(pre)/max(1,len(pre))):.3f}, after it {ms(sum(post)/max(1,len(post))):.3f}; overlapping a checkpoint step: {ovl_any/n:.0%} of them, {ovl/max(1,sum(d)):.0%} of their time")
# By thread: worker time not parked.
# Where a write's wait goes: groups running (any thread), or no group running (the lead
# being handed over, or held by the checkpoint's pause).
gst = [g[0] for g in G]
def cover(a, b):
    i = bisect.bisect_left(gst, a) - 64
    i = max(i, 0)
    tot = 0; n = 0
    while i < len(G) and G[i][0] < b:
        s, e = G[i][0], G[i][1]
        if e > a:
            tot += min(b, e) - max(a, s); n += 1
        i += 1
    return tot, n
def pauses(a, b):
    return overlaps_ckpt(a, b, ('pause',))
Ws = [w for w in W if w[0] >= t_from]
wd = [w[1]-w[0] for w in Ws]
thr = pct(wd, .99)
for label, sel in (("writes, slowest 1%", [w for w in Ws if w[1]-w[0] >= thr]), ("writes, the rest", [w for w in Ws if w[1]-w[0] < thr])):
    tot = sum(w[1]-w[0] for w in sel); cov = 0; ng = 0; pz = 0; ck = 0
    for w in sel:
        c, n = cover(w[0], w[1]); cov += c; ng += n; pz += pauses(w[0], w[1]); ck += overlaps_ckpt(w[0], w[1], ('passive','presync'))
    print(f"{label}: n {len(sel)} mean {ms(tot/len(sel)):.2f} ms; in groups {cov/tot:.0%} ({ng/len(sel):.1f} groups each), checkpoint pause {pz/tot:.0%}, outside groups and pauses {(tot-cov-pz)/tot:.0%}; a passive checkpoint ran during {ck/tot:.0%}")
# Long groups: what was slow in them
long = sorted(G, key=lambda g: g[1]-g[0])[-int(len(G)*0.01):]
print(f"groups, slowest 1%: mean {ms(sum(g[1]-g[0] for g in long)/len(long)):.2f} ms, size {sum(g[3] for g in long)/len(long):.1f}, commit {ms(sum(g[4] for g in long)/len(long)):.2f} ms; overlapping a passive checkpoint: {sum(1 for g in long if overlaps_ckpt(g[0], g[1], ('passive',)) > 0)/len(long):.0%}")
# Gaps between consecutive groups while writes wait (hand-over)
gaps = [b[0]-a[1] for a, b in zip(G, G[1:]) if b[0] > a[1]]
print(f"gaps between groups p50 {ms(pct(gaps,.5)):.3f} p90 {ms(pct(gaps,.9)):.3f} p99 {ms(pct(gaps,.99)):.3f} ms")
