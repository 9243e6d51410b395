"""Measure how long each DDP step waits on gradient synchronisation, with a communication hook.

    from autoscaler.worker import Reporter
    from autoscaler.worker.ddp import attach
    ddp = DistributedDataParallel(model)
    reporter = Reporter.from_env().start()
    attach(ddp, reporter)            # before the first step; replaces DDP's built-in all-reduce
    ... loss.backward(); opt.step(); reporter.step(samples=len(x))

What "waiting" means here. DDP launches one all-reduce per gradient bucket *during* backward, as
soon as the bucket's gradients exist, so communication overlaps compute. The step waits only for
what is left after the last gradient is computed: from the launch of the last bucket (its
gradients are the last ones backward produces) to the completion of every bucket's all-reduce.
That is the part a larger degree or a slower network adds to the step, and the part Pollux's
model calls synchronisation time; the rest of the step is compute (and data loading).

The hook does exactly what DDP's default does (divide by the group size, all-reduce, return the
bucket), plus two clock reads per bucket. On CPU (gloo) the clock is the host's
(``perf_counter`` at launch and in the future's completion callback). On CUDA (NCCL) a future
completes when the kernel is *queued*, so host time means nothing: the hook records CUDA events
on the streams instead (after the last bucket's gradients; after every all-reduce) and reads
them later without blocking, once they have happened. The CUDA path has not yet run on a GPU
(none was available when it was written); ``benchmarks/sync_measure.py`` checks it there.

This module imports torch; ``autoscaler.worker`` itself does not (import this one explicitly).
"""

# No ``from __future__ import annotations`` here: DDP checks the hook's annotations at runtime
# (``bucket: dist.GradBucket``, ``-> torch.futures.Future[torch.Tensor]``), as objects.
import threading
import time
from collections import deque
from typing import Any, Protocol

import torch
import torch.distributed as dist
from torch._C._distributed_c10d import GradBucket  # dist.GradBucket, spelled so mypy sees it


class SyncSink(Protocol):
    """Where a step's measured wait goes: ``Reporter`` (``add_sync``, ``measure_sync``)."""

    def add_sync(self, seconds: float) -> None: ...

    def measure_sync(self) -> None: ...


class SyncTimer:
    """The hook's state: per step, which buckets were launched and completed, and when.

    A step's wait is ``max(0, last completion - launch of the last bucket)``, reported when the
    last bucket has been launched and every launched bucket has completed. The lock is taken once
    per bucket (a handful per step, not per sample): gloo completes futures on its own threads.
    """

    _MAX_PENDING_EVENTS = 64  # CUDA steps in flight not yet read; older ones are dropped

    def __init__(
        self,
        sink: SyncSink,
        process_group: dist.ProcessGroup | None = None,
        *,
        clock: Any = time.perf_counter,
    ) -> None:
        self.sink = sink
        self.process_group = process_group
        self._clock = clock
        self._lock = threading.Lock()
        self._launched = 0
        self._completed = 0
        self._last_launch_s: float | None = None
        self._last_done_s = 0.0
        self._cuda_start: Any = None
        self._cuda_pending: deque[tuple[Any, Any]] = deque()
        self.steps = 0  # steps measured so far (for tests and the benchmark)

    # -- host clock (CPU tensors, gloo) -------------------------------------------------------

    def launched(self, last: bool) -> None:
        now = self._clock()
        with self._lock:
            self._launched += 1
            if last:
                self._last_launch_s = now

    def completed(self) -> None:
        now = self._clock()
        with self._lock:
            self._completed += 1
            self._last_done_s = max(self._last_done_s, now)
            start = self._last_launch_s
            if start is None or self._completed < self._launched:
                return
            wait_s = max(0.0, self._last_done_s - start)
            self._launched = self._completed = 0
            self._last_launch_s = None
            self._last_done_s = 0.0
            self.steps += 1
        self.sink.add_sync(wait_s)

    # -- device clock (CUDA tensors) ----------------------------------------------------------

    def launched_cuda(self, first: bool, last: bool) -> None:
        if first:
            self._read_cuda_events()
        with self._lock:
            self._launched += 1
            if last:  # recorded on the compute stream: fires when backward's last kernel ends
                self._cuda_start = _timing_event()

    def completed_cuda(self) -> None:
        """Runs in the future's callback, whose current stream waits on the all-reduce."""
        with self._lock:
            self._completed += 1
            if self._cuda_start is None or self._completed < self._launched:
                return
            end = _timing_event()
            self._cuda_pending.append((self._cuda_start, end))
            if len(self._cuda_pending) > self._MAX_PENDING_EVENTS:
                self._cuda_pending.popleft()
            self._cuda_start = None
            self._launched = self._completed = 0

    def _read_cuda_events(self) -> None:
        """Report every finished step's wait, oldest first, without blocking the host."""
        while self._cuda_pending and self._cuda_pending[0][1].query():
            start, end = self._cuda_pending.popleft()
            self.steps += 1
            self.sink.add_sync(max(0.0, start.elapsed_time(end) / 1000.0))


def _timing_event() -> Any:
    """A recorded CUDA event that can be timed (torch's stub for ``Event`` is untyped)."""
    event: Any = torch.cuda.Event(enable_timing=True)  # type: ignore[no-untyped-call]
    event.record()
    return event


def timed_allreduce_hook(
    state: SyncTimer, bucket: GradBucket
) -> torch.futures.Future[torch.Tensor]:
    """DDP's default all-reduce (average over the group), timed. Registered by ``attach``."""
    group = state.process_group if state.process_group is not None else dist.group.WORLD
    tensor = bucket.buffer()
    tensor.div_(dist.get_world_size(group))
    last = bucket.is_last()
    if tensor.is_cuda:
        state.launched_cuda(bucket.index() == 0, last)
        done = state.completed_cuda
    else:
        state.launched(last)
        done = state.completed
    fut = dist.all_reduce(tensor, group=group, async_op=True)
    assert fut is not None  # async_op=True always returns a Work

    def finish(f: torch.futures.Future[list[torch.Tensor]]) -> torch.Tensor:
        done()
        result: torch.Tensor = f.value()[0]
        return result

    chained: torch.futures.Future[torch.Tensor] = fut.get_future().then(finish)
    return chained


def attach(
    ddp_model: torch.nn.parallel.DistributedDataParallel,
    reporter: SyncSink,
    process_group: dist.ProcessGroup | None = None,
) -> SyncTimer:
    """Install the timed all-reduce on ``ddp_model`` (before its first backward; DDP allows
    one hook per model) and tell ``reporter`` that sync wait is measured from now on."""
    timer = SyncTimer(reporter, process_group)
    ddp_model.register_comm_hook(timer, timed_allreduce_hook)
    reporter.measure_sync()
    return timer
