#!/usr/bin/python3
"""A training rank instrumented the way the original design does it, with Python's prometheus_client.

The metric definitions, TrainingMonitor and start_http_server are the original design's
(Monitoring and Observability: "Custom Metrics Exporters", "Application Metrics", "Training Metrics");
only the port is per rank, since one node runs one process per HPU. otelcol-gaudi scrapes this
endpoint with configs/training-scrape.yaml and takes the rank's identity from the target labels its
Slurm task prolog writes (deploy/slurm), so nothing here knows about the collector or OpenTelemetry.
docs/prometheus-client-jobs.md explains the setup.

It trains a small real PyTorch model (a two-layer perceptron on a synthetic two-class problem) on
the CPU, or on an HPU when habana_frameworks is installed. Ranks are independent: no collective, so
one rank stalling leaves the others running.

    RANK=0 LOCAL_RANK=0 WORLD_SIZE=2 /usr/bin/python3 examples/prometheus-client/train.py --steps 1000
    curl -s http://127.0.0.1:9200/metrics

--stall-after-steps N makes the rank stop training after N batches while its metrics endpoint keeps
answering, as a rank hung in a collective does: training_samples_total stops growing and
TrainingStalled fires for that rank only.
"""

import argparse
import os
import signal
import sys
import threading
import time

import torch
from prometheus_client import Counter, Gauge, start_http_server

# HPU metrics exporter, as the original design defines it.
hpu_utilization = Gauge('hpu_utilization_percent', 'HPU utilization percentage')
training_samples = Counter('training_samples_total', 'Total training samples processed')

# Training throughput and application metrics (the original design's "Metrics Collection" lists).
training_samples_per_second = Gauge('training_samples_per_second', 'Training samples per second since the epoch started')
training_tokens_per_second = Gauge('training_tokens_per_second', 'Training tokens per second since the epoch started')
training_loss = Gauge('training_loss', 'Loss of the last training batch')
training_accuracy = Gauge('training_accuracy', 'Accuracy (0-1) of the last training batch')
validation_loss = Gauge('validation_loss', 'Loss of the last validation pass')
validation_accuracy = Gauge('validation_accuracy', 'Accuracy (0-1) of the last validation pass')
batch_processing_time = Gauge('batch_processing_time', 'Wall time of the last batch in seconds, data included')
model_forward_time = Gauge('model_forward_time', 'Forward pass time of the last batch in seconds')
backward_pass_time = Gauge('backward_pass_time', 'Backward pass time of the last batch in seconds')
optimizer_step_time = Gauge('optimizer_step_time', 'Optimizer step time of the last batch in seconds')
cpu_utilization_percent = Gauge('cpu_utilization_percent', 'CPU time of this process over wall time since start, percent')
memory_usage_bytes = Gauge('memory_usage_bytes', 'Peak resident memory of this process in bytes')


class TrainingMonitor:
    """Monitor training performance metrics."""

    def __init__(self):
        self.start_time = None
        self.samples_processed = 0
        self.tokens_processed = 0

    def start_epoch(self):
        """Start monitoring an epoch."""
        self.start_time = time.time()

    def update_batch(self, batch_size, sequence_length):
        """Update metrics after processing a batch."""
        self.samples_processed += batch_size
        self.tokens_processed += batch_size * sequence_length

    def get_throughput(self):
        """Calculate current throughput metrics."""
        if self.start_time is None:
            return None

        elapsed_time = time.time() - self.start_time

        return {
            'samples_per_second': self.samples_processed / elapsed_time,
            'tokens_per_second': self.tokens_processed / elapsed_time,
            'elapsed_time': elapsed_time
        }


def hpu_device():
    """The HPU when Habana's PyTorch bridge is installed and sees one, else the CPU."""
    try:
        import habana_frameworks.torch as htorch  # noqa: F401 (registers the hpu device)
        if htorch.hpu.is_available():
            return torch.device('hpu')
    except ImportError:
        pass
    return torch.device('cpu')


def get_hpu_utilization(busy_seconds, wall_seconds):
    """The original design's placeholder: the share of wall time this rank spent computing, in percent.

    The device's real utilization is the gaudi receiver's hpu_utilization_percent, which the collector
    attributes to this rank; this process's own reading is dropped at scrape (docs/training-metrics.md).
    """
    return 100.0 * busy_seconds / wall_seconds if wall_seconds > 0 else 0.0


def env_int(names, default):
    for name in names:
        value = os.environ.get(name)
        if value not in (None, ''):
            return int(value)
    return default


def synthetic_batch(generator, batch_size, features, device):
    """Two Gaussian blobs, one per class: a problem the model learns within a few hundred batches."""
    labels = torch.randint(0, 2, (batch_size,), generator=generator)
    inputs = torch.randn(batch_size, features, generator=generator) + (labels.unsqueeze(1) * 2 - 1) * 0.75
    return inputs.to(device), labels.to(device)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--steps', type=int, default=0, help='batches to train, 0 for no limit')
    parser.add_argument('--batch-size', type=int, default=32)
    parser.add_argument('--sequence-length', type=int, default=128,
                        help='tokens per sample, for training_tokens_per_second')
    parser.add_argument('--step-interval', type=float, default=0.0,
                        help='seconds to wait between batches (keeps a demo or test light on the CPU)')
    parser.add_argument('--eval-every', type=int, default=20, help='batches between validation passes')
    parser.add_argument('--stall-after-steps', type=int, default=0,
                        help='stop training after this many batches but keep serving metrics (0: never)')
    args = parser.parse_args()

    rank = env_int(['RANK', 'SLURM_PROCID'], 0)
    local_rank = env_int(['LOCAL_RANK', 'SLURM_LOCALID'], 0)
    # One endpoint per rank: the original's start_http_server(9200), offset by the local rank. The Slurm
    # task prolog (deploy/slurm) exports TRAINING_METRICS_PORT and registers the same port with the collector.
    port = env_int(['TRAINING_METRICS_PORT'], 9200 + local_rank)
    # Loopback, where the node's collector scrapes; in a Kubernetes pod set 0.0.0.0.
    addr = os.environ.get('TRAINING_METRICS_ADDR', '127.0.0.1')

    torch.manual_seed(rank)
    torch.set_num_threads(1)
    device = hpu_device()
    features = 16
    model = torch.nn.Sequential(torch.nn.Linear(features, 32), torch.nn.ReLU(), torch.nn.Linear(32, 2)).to(device)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    loss_fn = torch.nn.CrossEntropyLoss()
    generator = torch.Generator().manual_seed(1000 + rank)
    val_inputs, val_labels = synthetic_batch(generator, 256, features, device)

    # Serve only once the model is built, so a scrape never sees a rank that has not started.
    start_http_server(port, addr=addr)
    print(f'rank {rank} (local {local_rank}) on {device}: metrics on http://{addr}:{port}/metrics',
          file=sys.stderr, flush=True)

    monitor = TrainingMonitor()
    monitor.start_epoch()
    started = time.time()
    busy = 0.0
    step = 0
    while args.steps == 0 or step < args.steps:
        if args.stall_after_steps and step >= args.stall_after_steps:
            print(f'rank {rank}: stalled after {step} batches; metrics still served', file=sys.stderr, flush=True)
            threading.Event().wait()  # as a rank hung in a collective: alive, serving, not progressing

        batch_start = time.perf_counter()
        inputs, labels = synthetic_batch(generator, args.batch_size, features, device)
        t0 = time.perf_counter()
        outputs = model(inputs)
        loss = loss_fn(outputs, labels)
        t1 = time.perf_counter()
        optimizer.zero_grad()
        loss.backward()
        t2 = time.perf_counter()
        optimizer.step()
        t3 = time.perf_counter()
        accuracy = (outputs.argmax(dim=1) == labels).float().mean().item()
        step += 1
        batch_end = time.perf_counter()
        busy += batch_end - batch_start

        training_samples.inc(args.batch_size)
        monitor.update_batch(args.batch_size, args.sequence_length)
        throughput = monitor.get_throughput()
        training_samples_per_second.set(throughput['samples_per_second'])
        training_tokens_per_second.set(throughput['tokens_per_second'])
        training_loss.set(loss.item())
        training_accuracy.set(accuracy)
        model_forward_time.set(t1 - t0)
        backward_pass_time.set(t2 - t1)
        optimizer_step_time.set(t3 - t2)
        batch_processing_time.set(batch_end - batch_start)

        wall = time.time() - started
        hpu_utilization.set(get_hpu_utilization(busy, wall))
        times = os.times()
        cpu_utilization_percent.set(100.0 * (times.user + times.system) / wall if wall > 0 else 0.0)
        memory_usage_bytes.set(peak_rss_bytes())

        if step % args.eval_every == 0:
            with torch.no_grad():
                val_outputs = model(val_inputs)
                validation_loss.set(loss_fn(val_outputs, val_labels).item())
                validation_accuracy.set((val_outputs.argmax(dim=1) == val_labels).float().mean().item())

        if args.step_interval > 0:
            time.sleep(args.step_interval)

    print(f'rank {rank}: finished {step} batches, loss {loss.item():.4f}', file=sys.stderr, flush=True)


def peak_rss_bytes():
    import resource
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux reports KiB


if __name__ == '__main__':
    # SIGTERM (the scheduler, or a test ending) stops the rank at once, as Python's default would, but
    # with exit status 0 so that a stopped rank is not reported as a crash.
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    main()
