"""The API seam against the in-memory API server: list, watch, merge patches with
resourceVersions, /scale, Events, and how each HTTP failure is classified."""

from __future__ import annotations

import httpx
import pytest
from kube_helpers import PYTORCHJOB, STATEFULSET, opt_in, pytorchjob, statefulset

from autoscaler.kube.client import KubeClient
from autoscaler.kube.errors import (
    KubeConflict,
    KubePermanentError,
    KubeTemporaryError,
)
from autoscaler.kube.events import EventReason, EventRecorder
from autoscaler.kube.kinds import DEPLOYMENT, ObjectRef
from autoscaler.testing.fakeapi import EVENTS, FakeKubeApi


def ref_of(api: FakeKubeApi, kind: object, name: str) -> ObjectRef:
    return ObjectRef.of(kind, api.obj(kind, "ml", name))  # type: ignore[arg-type]


def test_list_returns_items_with_kind_and_a_resource_version(
        api: FakeKubeApi, client: KubeClient) -> None:
    api.add(PYTORCHJOB, pytorchjob("a", 2, opt_in()))
    items, rv = client.list(PYTORCHJOB, "ml")
    assert [i["metadata"]["name"] for i in items] == ["a"]
    assert items[0]["kind"] == "PyTorchJob"
    assert int(rv) >= int(items[0]["metadata"]["resourceVersion"])


def test_watch_streams_only_changes_after_the_given_resource_version(
        api: FakeKubeApi, client: KubeClient) -> None:
    api.add(PYTORCHJOB, pytorchjob("a", 2, opt_in()))
    _, rv = client.list(PYTORCHJOB, None)
    api.add(PYTORCHJOB, pytorchjob("b", 3, opt_in()))
    events = list(client.watch(PYTORCHJOB, None, rv, timeout_s=1))
    assert [(t, o["metadata"]["name"]) for t, o in events] == [("ADDED", "b")]


def test_annotation_patch_with_a_stale_resource_version_is_a_conflict(
        api: FakeKubeApi, client: KubeClient) -> None:
    created = api.add(PYTORCHJOB, pytorchjob("a", 2, opt_in()))
    ref = ObjectRef.of(PYTORCHJOB, created)
    stale = created["metadata"]["resourceVersion"]
    client.patch_annotations(ref, {"x/y": "1"}, stale)
    with pytest.raises(KubeConflict):
        client.patch_annotations(ref, {"x/y": "2"}, stale)
    assert api.obj(PYTORCHJOB, "ml", "a")["metadata"]["annotations"]["x/y"] == "1"


def test_annotation_patch_merges_and_none_deletes(api: FakeKubeApi, client: KubeClient) -> None:
    created = api.add(STATEFULSET, statefulset("s", 2, {**opt_in(), "keep": "me", "drop": "me"}))
    client.patch_annotations(ObjectRef.of(STATEFULSET, created), {"drop": None, "new": "v"}, None)
    annotations = api.obj(STATEFULSET, "ml", "s")["metadata"]["annotations"]
    assert annotations["keep"] == "me" and annotations["new"] == "v" and "drop" not in annotations


def test_scale_of_a_pytorchjob_moves_the_worker_replicas_only(
        api: FakeKubeApi, client: KubeClient) -> None:
    ref = ObjectRef.of(PYTORCHJOB, api.add(PYTORCHJOB, pytorchjob("a", 2, opt_in())))
    assert client.get_scale(ref) == 2
    assert client.patch_scale(ref, 5) == 5
    spec = api.obj(PYTORCHJOB, "ml", "a")["spec"]
    assert spec["pytorchReplicaSpecs"]["Worker"]["replicas"] == 5
    assert spec["pytorchReplicaSpecs"]["Master"]["replicas"] == 1
    assert "replicas" not in spec


def test_events_are_created_in_the_objects_namespace_pointing_at_it(
        api: FakeKubeApi, client: KubeClient) -> None:
    ref = ObjectRef.of(STATEFULSET, api.add(STATEFULSET, statefulset("s", 2, opt_in())))
    EventRecorder(client, "op-1").emit(ref, EventReason.INVALID_ANNOTATION, "x" * 2000, 1e9)
    [event] = api.objects(EVENTS)
    assert event["metadata"]["namespace"] == "ml"
    assert event["involvedObject"]["kind"] == "StatefulSet"
    assert event["involvedObject"]["uid"] == ref.uid
    assert event["type"] == "Warning" and event["reason"] == "InvalidAnnotation"
    assert len(event["message"]) == 1024


@pytest.mark.parametrize(("status", "error"), [
    (409, KubeConflict),
    (429, KubeTemporaryError),
    (500, KubeTemporaryError),
    (503, KubeTemporaryError),
    (504, KubeTemporaryError),
    (400, KubePermanentError),
    (401, KubePermanentError),
    (403, KubePermanentError),
    (404, KubePermanentError),
    (422, KubePermanentError),
])
def test_http_failures_are_classified_by_what_retrying_can_do(
        api: FakeKubeApi, client: KubeClient, status: int, error: type[Exception]) -> None:
    ref = ObjectRef.of(DEPLOYMENT, api.add(DEPLOYMENT, statefulset("d", 1, opt_in())))
    api.fail_next("PATCH", "/scale", status)
    with pytest.raises(error) as e:
        client.patch_scale(ref, 2)
    assert str(status) in str(e.value)


def test_a_refused_connection_is_temporary() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    client = KubeClient(httpx.MockTransport(refuse))
    with pytest.raises(KubeTemporaryError):
        client.list(PYTORCHJOB, None)


def test_missing_object_is_permanent_and_says_not_found(
        api: FakeKubeApi, client: KubeClient) -> None:
    with pytest.raises(KubePermanentError) as e:
        client.get(ObjectRef(PYTORCHJOB, "ml", "ghost"))
    assert e.value.not_found


def test_requests_are_counted_by_verb_and_resource(api: FakeKubeApi, client: KubeClient) -> None:
    ref = ObjectRef.of(PYTORCHJOB, api.add(PYTORCHJOB, pytorchjob("a", 2, opt_in())))
    client.patch_scale(ref, 3)
    client.patch_annotations(ref, {"k": "v"}, None)
    assert client.requests["PATCH patch pytorchjobs/scale"] == 1
    assert client.requests["PATCH patch pytorchjobs"] == 1
    assert sum(client.requests.values()) == 2
