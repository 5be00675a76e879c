"""Magenta's MusicVAE (TensorFlow 2.15, graph mode) training speed on the shapes of train_speed.py.

Runs inside the venv that ``benchmarks/peers/magenta_setup.sh`` builds
(``benchmarks/peers/.venv-magenta``), never in the project's own.

Shapes (the same as ``benchmarks/train_speed.py``'s):

==================  ======  ==========================================================
name                batch   Magenta config and the hparams changed from it
==================  ======  ==========================================================
cat-mel-2bar-small  128     ``cat-mel_2bar_small`` as shipped (BiLSTM 512, 2x256, z 256)
cat-mel-2bar-small  512     the same
hierdec-mel-16bar   64      ``hierdec-mel_16bar`` with enc_rnn_size [512], dec_rnn_size
                            [256, 256], z_size 256, free_bits 0 (ours: BiLSTM 512,
                            conductor and decoder 2x256, z 256)
==================  ======  ==========================================================

One training step is what ``music_vae_train.py`` runs: the loss, its gradients,
global-norm clipping and an Adam update. The batch is a fixed random one-hot
tensor held in a variable (no input pipeline), as train_speed.py's is a fixed
random token tensor. By default the decoder is teacher-forced, as in
train_speed.py's timed steps; ``--sampling config`` keeps the config's
scheduled sampling instead. For the 16-bar shape TF's graph rewriter (grappler)
is switched off: with it on, optimizing the graph was reported to take more
than 24 GB of memory (issue 17); off, the process stays near 2 GB.

    benchmarks/peers/.venv-magenta/bin/python benchmarks/peers/magenta_train_speed.py \\
        --shape cat-mel-2bar-small --batch 128 --windows 5 --steps 4

With ``--serve`` it builds the shape, runs two warm-up steps, prints one JSON line
``{"ready": ...}`` and then answers JSON lines on stdin: ``{"steps": N}`` is
answered with ``{"seconds": S}`` for N timed steps, ``{"quit": true}`` ends it.
train_speed.py ``--peer magenta`` drives it that way, so that its windows and
ours alternate under the same machine load.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

SHAPES = {
    "cat-mel-2bar-small": ("cat-mel_2bar_small", {}),
    "hierdec-mel-16bar": ("hierdec-mel_16bar",
                          {"enc_rnn_size": [512], "dec_rnn_size": [256, 256], "z_size": 256, "free_bits": 0}),
}


def build_step(shape: str, batch: int, threads: int, sampling: str, seed: int = 0):
    """(session, train_op, description) for one training step of the shape at this batch size."""
    import numpy as np
    import tensorflow.compat.v1 as tf
    from magenta.models.music_vae import configs

    tf.disable_v2_behavior()
    tf.logging.set_verbosity(tf.logging.ERROR)
    name, changes = SHAPES[shape]
    config = configs.CONFIG_MAP[name]
    hparams = config.hparams
    hparams.batch_size = batch
    for key, value in changes.items():
        setattr(hparams, key, value)
    if sampling == "teacher":
        hparams.sampling_schedule, hparams.sampling_rate = "constant", 0.0
    depth, steps = config.data_converter.output_depth, hparams.max_seq_len
    hier = shape.startswith("hierdec")

    graph = tf.Graph()
    with graph.as_default():
        tf.set_random_seed(seed)
        rng = np.random.default_rng(seed)
        one_hot = np.eye(depth, dtype=np.float32)[rng.integers(0, depth, (batch, steps))]
        sequence = tf.Variable(one_hot, trainable=False, name="batch")
        lengths = tf.constant(np.full(batch, steps, np.int32))
        model = config.model
        model.build(hparams, depth, is_training=True)
        optimizer = model.train(sequence, sequence, lengths)
        grads, variables = zip(*optimizer.compute_gradients(model.loss))
        norm = tf.global_norm(grads)
        clipped = tf.cond(norm < hparams.grad_norm_clip_to_zero,
                          lambda: tf.clip_by_global_norm(grads, hparams.grad_clip, use_norm=norm)[0],
                          lambda: [tf.zeros(tf.shape(g)) for g in grads])
        train_op = optimizer.apply_gradients(list(zip(clipped, variables)), global_step=model.global_step)
        init = tf.global_variables_initializer()
    session_config = tf.ConfigProto(intra_op_parallelism_threads=threads, inter_op_parallelism_threads=threads)
    if hier:
        session_config.graph_options.rewrite_options.disable_meta_optimizer = True
    sess = tf.Session(graph=graph, config=session_config)
    sess.run(init)
    what = (f"Magenta {name} ({'; '.join(f'{k} {v}' for k, v in changes.items()) or 'as shipped'}), batch {batch}, "
            f"{'teacher-forced' if sampling == 'teacher' else 'scheduled sampling as configured'}, "
            f"threads {threads}{', grappler off' if hier else ''}")
    return sess, train_op, what


def timed_window(sess, train_op, steps: int) -> float:
    """Seconds for ``steps`` training steps."""
    t = time.perf_counter()
    for _ in range(steps):
        sess.run(train_op)
    return time.perf_counter() - t


def versions() -> str:
    import magenta
    import tensorflow as tf

    return f"magenta {getattr(magenta, '__version__', '2.1.4')}, TensorFlow {tf.__version__}, Python {platform.python_version()}"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--shape", choices=sorted(SHAPES), default="cat-mel-2bar-small")
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--threads", type=int, default=os.cpu_count(), help="TF intra- and inter-op threads")
    ap.add_argument("--sampling", choices=["teacher", "config"], default="teacher",
                    help="teacher-forced decoder (default, as train_speed.py) or the config's scheduled sampling")
    ap.add_argument("--windows", type=int, default=5, help="timed windows (the median is reported)")
    ap.add_argument("--steps", type=int, default=4, help="training steps per window")
    ap.add_argument("--warmup", type=int, default=2, help="untimed steps first")
    ap.add_argument("--serve", action="store_true", help="answer timing requests on stdin (see the docstring)")
    args = ap.parse_args(argv)

    t0 = time.perf_counter()
    sess, train_op, what = build_step(args.shape, args.batch, args.threads, args.sampling)
    build_s = time.perf_counter() - t0
    warm_s = timed_window(sess, train_op, args.warmup)
    if args.serve:
        print(json.dumps({"ready": True, "what": what, "versions": versions(), "build_s": round(build_s, 1),
                          "warmup_s": round(warm_s, 2)}), flush=True)
        for line in sys.stdin:
            request = json.loads(line)
            if request.get("quit"):
                break
            print(json.dumps({"seconds": timed_window(sess, train_op, int(request["steps"]))}), flush=True)
        return 0
    rates = [args.batch * args.steps / timed_window(sess, train_op, args.steps) for _ in range(args.windows)]
    print(f"{what}; {versions()}")
    print(f"graph built in {build_s:.0f} s, {args.warmup} warm-up steps in {warm_s:.1f} s; load average "
          f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    print(f"{statistics.median(rates):.1f} seq/s median of {args.windows} windows of {args.steps} steps "
          f"(min {min(rates):.1f}, max {max(rates):.1f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
