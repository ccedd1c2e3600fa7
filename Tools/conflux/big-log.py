#!/usr/bin/env python3
"""A large Conflux-format log for the import measurement (README "Conflux end to end"): ordinary
consensus/sync/network lines with 1,000 pivot-hint lines (switches and extends over the corpus
chain of Tools/conflux/chain-hashes.py, agreeing with Traces/conflux/chain.hint) spread evenly.
Usage: big-log.py OUT.log [BYTES]   (default 1,000,000,000; delete the file afterwards)"""
import hashlib, sys
H = lambda h: hashlib.sha256(f"conflux-corpus-{h}".encode()).hexdigest()
F = lambda h: hashlib.sha256(f"conflux-foreign-{h}".encode()).hexdigest()
target = int(sys.argv[2]) if len(sys.argv) > 2 else 1_000_000_000
others = [
    ("INFO ", "IO Worker #1        ", "network::ses", "Session {n} readable, token={n}, packets=12, bytes=34512"),
    ("DEBUG", "Sync Graph Block Pro", "cfxcore::syn", "insert_block_header: hash=0x{h} height={n} parent_hash=0x{h}"),
    ("TRACE", "Consensus Worker    ", "cfxcore::con", "activate_block: epoch={n} weight=1234567 past_weight=765432 era_genesis=0x{h}"),
    ("DEBUG", "IO Worker #2        ", "cfxcore::syn", "on_message: peer=0x{h} msg_id=GetBlockHeadersResponse request_id={n}"),
]
out = open(sys.argv[1], "w", buffering=1 << 22)
base = 1730773425  # 2024-11-05T02:23:45Z
pivot_every = None
written = 0
n = 0
pivots = 0
# Estimate lines: average other line ~170 bytes.
est_lines = target // 212
pivot_every = est_lines // 1000
filler = hashlib.sha256(b"x").hexdigest()
while written < target:
    t = base + n // 5000
    frac = (n % 5000) * 200000
    ts = f"2024-11-05T{(10 + t // 3600 % 24 - 10 + 10) % 24:02d}:{t // 60 % 60:02d}:{t % 60:02d}.{frac:09d}+08:00"
    if pivot_every and n % pivot_every == pivot_every // 2 and pivots < 1000:
        k = pivots
        if k % 2 == 0:
            f = 2 + (k * 7) % 900; m = f + 9; c = max(x for x in range(f, min(m, 999) + 1) if x % 10 == 0) if any(x % 10 == 0 for x in range(f, min(m, 999) + 1)) else max(x for x in range(f, min(m, 999) + 1) if x % 2 == 0)
            good = k % 4 == 0
            line = f"{ts} DEBUG Consensus Worker     cfxcore::con - Pivot hint check switch result {'true' if good else 'false'}. fork_at: {f}, me_height: {m}, check_height: {c}, fetch_hash: 0x{H(c) if good else F(c)}\n"
        else:
            h = 2 * ((k * 13) % 499)
            good = k % 3 != 0
            line = f"{ts} DEBUG Consensus Worker     cfxcore::con - Pivot hint check extend result {'true' if good else 'false'}. me_height: {h}, fetch_hash: 0x{H(h) if good else F(h)}\n"
        pivots += 1
    else:
        lvl, th, tg, msg = others[n % 4]
        line = f"{ts} {lvl} {th} {tg} - " + msg.format(n=n, h=filler) + "\n"
    out.write(line)
    written += len(line)
    n += 1
out.close()
print(f"{n} lines, {written} bytes, {pivots} pivot lines", file=sys.stderr)
