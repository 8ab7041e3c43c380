# Sourced by the stage scripts in scripts/slurm/ (docs/hpc.md): where the programs are, and one
# Slurm step that requeues the job before its time limit.
#
# The stage scripts ask Slurm for USR1 to the batch shell some minutes before the limit
# (#SBATCH --signal=B:USR1@300). cytocon_step passes it on to the step as SIGTERM: cytocon-train's
# ranks finish the current step, rank 0 writes a checkpoint, all exit with 143 (docs/training.md)
# and the job requeues itself (scontrol requeue). The requeued job finds the checkpoint and
# continues with --resume, bit-identically. scancel is not a time limit: it ends the job, no requeue.

# The checkout the job was submitted from (or PREFIX/share/cytocon of an install), and the programs.
CYTOCON_HOME=${CYTOCON_HOME:-${SLURM_SUBMIT_DIR:-$PWD}}
if [ -z "${BIN:-}" ]; then
  if [ -x "$CYTOCON_HOME/${BUILD:-build}/bin/cytocon-train" ]; then
    BIN=$CYTOCON_HOME/${BUILD:-build}/bin
  elif [ -x "$CYTOCON_HOME/../../bin/cytocon-train" ]; then  # CYTOCON_HOME=PREFIX/share/cytocon (cmake --install)
    BIN=$(cd "$CYTOCON_HOME/../../bin" && pwd)
  elif command -v cytocon-train >/dev/null 2>&1; then   # a module or Spack environment
    BIN=$(dirname "$(command -v cytocon-train)")
  else
    echo "cytocon: no cytocon-train in $CYTOCON_HOME/${BUILD:-build}/bin, $CYTOCON_HOME/../../bin or PATH; set BIN=DIR or CYTOCON_HOME" >&2
    exit 1
  fi
fi
# How often one run may requeue itself (a guard against a run that never gets a step done).
CYTOCON_MAX_REQUEUES=${CYTOCON_MAX_REQUEUES:-50}

# cytocon_step <srun options and command...>: runs one step and waits for it; on USR1 (the time
# limit is near) stops it with SIGTERM and requeues the job when the step exited with 143.
cytocon_step() {
  local requeue=0 pid rc=0
  trap 'requeue=1; echo "cytocon: time limit near: stopping the step (checkpoint), then requeueing"; kill -TERM "$pid" 2>/dev/null || true' USR1
  srun "$@" &
  pid=$!
  # wait returns early when the trap runs; wait again until the step is gone, then take its status.
  while kill -0 "$pid" 2>/dev/null; do wait "$pid" || true; done
  wait "$pid" || rc=$?
  trap - USR1
  if [ "$requeue" = 0 ] || [ "$rc" = 0 ]; then return "$rc"; fi
  if [ "$rc" != 143 ]; then
    echo "cytocon: the step ended with status $rc after the time-limit signal; not requeueing" >&2
    return "$rc"
  fi
  if [ "${SLURM_RESTART_COUNT:-0}" -ge "$CYTOCON_MAX_REQUEUES" ]; then
    echo "cytocon: requeued ${SLURM_RESTART_COUNT} times already (CYTOCON_MAX_REQUEUES); resubmit by hand to go on" >&2
    return "$rc"
  fi
  echo "cytocon: requeueing job ${SLURM_JOB_ID} (restart $(( ${SLURM_RESTART_COUNT:-0} + 1 )))"
  scontrol requeue "$SLURM_JOB_ID"
  exit 0
}

# cytocon_train <cytocon-train options...>: a training stage in $OUT, one rank per task. A run
# directory that already holds a checkpoint (a requeued job, or a resubmission with the same OUT)
# is continued with --resume, which keeps the run's own config.toml; otherwise a new run starts.
cytocon_train() {
  local args extra
  if compgen -G "$OUT/checkpoints/step-*.safetensors" >/dev/null; then
    echo "cytocon: resuming $OUT from its newest checkpoint"
    args=(--resume "$OUT")
  else
    : "${DATA:?set DATA=/path/to/dataset (sbatch --export=ALL,DATA=...)}"
    args=(--config "${CONFIG:-$CYTOCON_HOME/configs/paper.toml}" --set "data.dir=$DATA" --set "train.out=$OUT"
          --set "train.device=${DEVICE:-cuda}" "$@")
  fi
  # Further options for every start and resume, e.g. CYTOCON_TRAIN_ARGS="--set train.max_steps=5000".
  read -r -a extra <<< "${CYTOCON_TRAIN_ARGS:-}"
  args+=("${extra[@]}")
  # Data-loading threads per rank; one rank drives one GPU (docs/distributed.md).
  export OMP_NUM_THREADS=${SLURM_CPUS_PER_TASK:-${OMP_NUM_THREADS:-1}}
  # A rank that waits longer than this in one collective ends the whole job (default 600 s).
  export CYTOCON_COLLECTIVE_TIMEOUT=${CYTOCON_COLLECTIVE_TIMEOUT:-600}
  # --kill-on-bad-exit ends the step when any rank fails; every rank exits 143 together after the
  # checkpoint (rank 0 writes it, a barrier follows), so a requeue loses no checkpoint.
  cytocon_step --mpi="${CYTOCON_SRUN_MPI:-pmix}" --kill-on-bad-exit=1 --cpu-bind=cores "$BIN/cytocon-train" "${args[@]}"
}
