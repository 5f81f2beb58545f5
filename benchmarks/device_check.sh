#!/usr/bin/env bash
# Every CUDA check and GPU measurement of msmix, run from the repository root on a machine with one
# CUDA device whose python3 has PyTorch (and pandas, scipy, scikit-learn, tqdm). The wheels in
# .whl/ (`make device-wheels`: MMSA 2.2.1 and its imports easydict and pynvml, for part (d)'s
# side-by-side run of MMSA's pipeline) are installed into /tmp/site first. The report goes to
# $OUT/gpu_check.md (default: the current folder), rewritten after every row, so a run cut short
# by BUDGET seconds (default 500) keeps what it measured. Extra arguments go to gpu_check.py
# (e.g. --parts a b).
set -uo pipefail
out=${OUT:-.}
if compgen -G ".whl/*.whl" >/dev/null; then
    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl \
        && export PYTHONPATH=/tmp/site${PYTHONPATH:+:$PYTHONPATH}
fi
export PYTHONPATH=.:${PYTHONPATH:-} PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv >"$out/nvidia_smi.csv" 2>&1
python3 -c "import torch; print('torch', torch.__version__, 'CUDA', torch.version.cuda, torch.cuda.get_device_name())"
timeout "${BUDGET:-500}" python3 benchmarks/gpu_check.py --out "$out/gpu_check.md" --mmsa-python python3 "$@" \
    2>"$out/gpu_check.err"
status=$?
tail -n 30 "$out/gpu_check.err"
cat "$out/gpu_check.md"
exit $status
