"""The informer cache (watch events, opt-in filtering, 410 relist), the Lease election, the
versioned state annotation, and the scale actuator."""

from __future__ import annotations

import pytest
from kube_helpers import PYTORCHJOB, STATEFULSET, opt_in, pytorchjob, statefulset

from autoscaler.actuators.kube_scale import KubeScaleActuator
from autoscaler.kube.cache import ObjectCache
from autoscaler.kube.client import KubeClient
from autoscaler.kube.kinds import DEPLOYMENT, ObjectRef
from autoscaler.kube.lease import LeaseElector
from autoscaler.kube.state import JobMemory, StateError, decode, encode
from autoscaler.testing.fakeapi import LEASES, FakeKubeApi


def names(cache: ObjectCache) -> set[str]:
    return {o["metadata"]["name"] for _, o in cache.objects()}


def watch_all(cache: ObjectCache) -> None:
    for i in range(cache.stream_count):
        cache.watch_once(i, timeout_s=1)


def test_cache_keeps_only_opted_in_objects_and_follows_watch_events(
        api: FakeKubeApi, client: KubeClient) -> None:
    api.add(PYTORCHJOB, pytorchjob("in", 2, opt_in()))
    api.add(PYTORCHJOB, pytorchjob("out", 2, {}))
    cache = ObjectCache(client, (PYTORCHJOB, STATEFULSET))
    cache.relist()
    assert cache.synced and names(cache) == {"in"}

    api.add(STATEFULSET, statefulset("s", 1, opt_in()))
    ref = ObjectRef.of(PYTORCHJOB, api.obj(PYTORCHJOB, "ml", "out"))
    client.patch_annotations(ref, opt_in(), None)  # opts in later
    watch_all(cache)
    assert names(cache) == {"in", "out", "s"}

    client.patch_annotations(ref, {"energy-autoscaler.io/enabled": "false"}, None)  # opts out
    client.request("DELETE", STATEFULSET.object_path("ml", "s"), tag="delete")
    watch_all(cache)
    assert names(cache) == {"in"}


def test_an_older_watch_event_never_overwrites_a_newer_write(
        api: FakeKubeApi, client: KubeClient) -> None:
    created = api.add(PYTORCHJOB, pytorchjob("a", 2, opt_in()))
    cache = ObjectCache(client, (PYTORCHJOB,))
    cache.relist()
    newer = client.patch_annotations(ObjectRef.of(PYTORCHJOB, created), {"x": "new"}, None)
    cache.apply(PYTORCHJOB, "MODIFIED", newer)
    cache.apply(PYTORCHJOB, "MODIFIED", created)  # a late event about the older version
    [(_, obj)] = cache.objects()
    assert obj["metadata"]["annotations"]["x"] == "new"


def test_watch_410_gone_relists(client: KubeClient) -> None:
    api = FakeKubeApi(history=2)
    small = KubeClient(api.transport())
    cache = ObjectCache(small, (PYTORCHJOB,))
    cache.relist()
    for i in range(5):  # more changes than the server keeps: our resourceVersion expires
        api.add(PYTORCHJOB, pytorchjob(f"j{i}", 1, opt_in()))
    cache.watch_once(0, timeout_s=1)  # ERROR 410 -> marks for relist
    cache.watch_once(0, timeout_s=1)  # relists, then watches
    assert names(cache) == {f"j{i}" for i in range(5)}
    assert small.requests["GET list pytorchjobs"] == 2


def test_a_kind_without_its_crd_is_unavailable_not_fatal(api: FakeKubeApi) -> None:
    from autoscaler.kube.kinds import KindRef
    missing = KindRef("example.com", "v1", "widgets", "Widget")
    cache = ObjectCache(KubeClient(api.transport()), (missing, DEPLOYMENT))
    cache.relist()
    assert cache.synced  # ready: the missing kind is reported, the others are served


def test_only_one_of_two_replicas_leads_and_the_other_takes_over_after_expiry(
        api: FakeKubeApi) -> None:
    a = LeaseElector(KubeClient(api.transport()), "ops", "leader", "a", duration_s=10)
    b = LeaseElector(KubeClient(api.transport()), "ops", "leader", "b", duration_s=10)
    assert a.try_lead(100.0) is True
    assert b.try_lead(101.0) is False
    assert a.try_lead(105.0) is True  # renews
    assert b.try_lead(112.0) is False  # a renewed at 105: still valid until 115
    assert b.try_lead(116.0) is True  # a stopped renewing
    [lease] = api.objects(LEASES)
    assert lease["spec"]["holderIdentity"] == "b" and lease["spec"]["leaseTransitions"] == 1
    assert a.try_lead(117.0) is False


def test_a_leader_that_cannot_renew_stops_before_its_lease_expires(api: FakeKubeApi) -> None:
    a = LeaseElector(KubeClient(api.transport()), "ops", "leader", "a", duration_s=10)
    assert a.try_lead(100.0)
    api.fail_next("GET", "/leases/", 503, times=10)
    assert a.try_lead(105.0) is True  # 105 < 100 + 0.8 * 10
    assert a.try_lead(109.0) is False


def test_losing_the_update_race_does_not_lead(api: FakeKubeApi) -> None:
    a = LeaseElector(KubeClient(api.transport()), "ops", "leader", "a", duration_s=10)
    b = LeaseElector(KubeClient(api.transport()), "ops", "leader", "b", duration_s=10)
    assert a.try_lead(100.0)
    api.fail_next("PUT", "/leases/leader", 409)
    assert b.try_lead(200.0) is False


def test_release_lets_a_standby_take_over_at_once(api: FakeKubeApi) -> None:
    a = LeaseElector(KubeClient(api.transport()), "ops", "leader", "a", duration_s=10)
    b = LeaseElector(KubeClient(api.transport()), "ops", "leader", "b", duration_s=10)
    assert a.try_lead(100.0)
    a.release(101.0)
    assert b.try_lead(102.5)


def test_state_round_trips_and_is_compressed() -> None:
    memory = JobMemory(session={"version": 1, "engine": {"windows": [[1.0, 2.0]] * 200},
                                "ledger": {"samples": 5.0}}, events={"Resized": "4"})
    text = encode(memory)
    assert text.startswith("v2:")
    assert decode(text) == memory
    assert len(text) < 1000


@pytest.mark.parametrize("text", ["v3:abc", "v2:abc", "garbage", "v1:not-base64!!", "v1:"])
def test_unreadable_state_is_a_state_error_not_a_crash(text: str) -> None:
    with pytest.raises(StateError):
        decode(text)


class Endpoint:
    """A scale endpoint that records writes (conflicts: tests/kube/test_kinds_resize.py)."""

    def __init__(self) -> None:
        self.written: list[int] = []

    def read_replicas(self) -> int:
        raise AssertionError("not read")

    def write_replicas(self, replicas: int) -> int:
        self.written.append(replicas)
        return replicas


def test_scaling_to_the_current_size_sends_nothing() -> None:
    endpoint = Endpoint()
    KubeScaleActuator(endpoint, seen_replicas=3).scale_to(3)
    assert endpoint.written == []


def test_a_namespaced_cache_sees_only_its_namespaces(api: FakeKubeApi, client: KubeClient) -> None:
    api.add(PYTORCHJOB, pytorchjob("mine", 2, opt_in(), namespace="ml"))
    api.add(PYTORCHJOB, pytorchjob("theirs", 2, opt_in(), namespace="other"))
    api.log.clear()
    cache = ObjectCache(client, (PYTORCHJOB,), namespaces=("ml",))
    cache.relist()
    api.add(PYTORCHJOB, pytorchjob("later", 2, opt_in(), namespace="other"))
    watch_all(cache)
    assert names(cache) == {"mine"}
    operator_paths = [path for method, path in api.log if method in ("GET", "WATCH")]
    assert operator_paths and all("/namespaces/ml/" in p for p in operator_paths)


def test_an_unreachable_api_server_is_not_ready(api: FakeKubeApi, client: KubeClient) -> None:
    cache = ObjectCache(client, (PYTORCHJOB,))
    api.fail_next("GET", "/pytorchjobs", 503)
    cache.relist()
    assert not cache.synced and cache.unavailable(0)
    cache.relist()
    assert cache.synced and not cache.unavailable(0)
