# On the device machine (README.md beside this): train the chapters named in
# .gpu/store/.chapters at converged with the JAX backend, then put every run finished since
# the last call in $OUT as tar parts. Arguments: seconds to wait, worker processes.
set -u
K=/root/kd
if [ ! -f $K/store/.started ]; then
  cat $K/part_0 $K/part_1 $K/part_2 > $K/cifar10.npz
  echo "$(cat .gpu/whl/cifar10.sha256)  $K/cifar10.npz" | sha256sum -c || exit 3
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
    --target /tmp/site .gpu/whl/*.whl || exit 4
  rm -rf $K/store
  cp -r .gpu/store $K/store || exit 5
  touch $K/store/.started $K/returned || exit 6
fi
export PYTHONPATH=/tmp/site:$PWD KERAS_BACKEND=jax KDHELPERS_DATA=$K KDHELPERS_ARTIFACTS=$K/store
export XLA_PYTHON_CLIENT_PREALLOCATE=false XLA_FLAGS=--xla_gpu_deterministic_ops=true PYTHONUNBUFFERED=1
chapters=$(cat $K/store/.chapters)
if ! pgrep -f "[k]dhelpers.book train" >/dev/null; then
  python3 -m kdhelpers.book plan --profile converged --only $chapters 2>&1 | grep -v WARN | tail -8
  setsid nohup python3 -m kdhelpers.book train --profile converged --workers ${2:-12} \
    --only $chapters > $K/train.log 2>&1 < /dev/null &
fi
end=$((SECONDS + $1))
while [ $SECONDS -lt $end ] && pgrep -f "[k]dhelpers.book train" >/dev/null; do sleep 10; done
nvidia-smi --query-gpu=utilization.gpu,memory.used --format=csv,noheader
cd $K/store || exit 7
new=$(for d in *-*; do [ -f $d/MANIFEST.json ] && ! grep -qx $d $K/returned && echo $d; done)
echo "finished since the last call: $(echo $new | wc -w) runs"
if [ -n "$new" ]; then
  tar czf $OUT/runs.tgz --exclude=weights.keras $new && printf '%s\n' $new >> $K/returned
fi
cp $K/train.log $OUT/; grep -v WARN $K/train.log | tail -5
