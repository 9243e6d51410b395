"""The kinds the operator serves without configuration, as data (see :mod:`.kindref`).

Pod labels are the ones each controller sets on the pods it creates (checked against the
controllers' sources): Kubeflow Training Operator ``training.kubeflow.org/job-name`` (on the
master *and* the workers: both are ranks of the job), Volcano ``volcano.sh/job-name`` +
``volcano.sh/task-spec``, KubeRay ``ray.io/cluster`` + ``ray.io/group``, the Job controller
``batch.kubernetes.io/job-name``, JobSet ``jobset.sigs.k8s.io/jobset-name`` (also what a
TrainJob's pods carry: Kubeflow Trainer runs a TrainJob as a JobSet of the same name).
StatefulSet and Deployment pods are found by the object's own ``spec.selector.matchLabels``.
"""

from __future__ import annotations

from autoscaler.kube.kindref import KindRef

PYTORCHJOB = KindRef(
    group="kubeflow.org", version="v1", plural="pytorchjobs", kind="PyTorchJob",
    replicas_path="spec.pytorchReplicaSpecs.Worker.replicas",
    min_paths=("spec.elasticPolicy.minReplicas",),
    max_paths=("spec.elasticPolicy.maxReplicas",),
    observed_path="status.replicaStatuses.Worker.active",
    pod_labels=(("training.kubeflow.org/job-name", "{name}"),),
    pod_regex="{name}-(master|worker)-[0-9]+",
)
STATEFULSET = KindRef(
    group="apps", version="v1", plural="statefulsets", kind="StatefulSet",
    observed_path="status.readyReplicas", pod_selector_path="spec.selector.matchLabels",
    pod_regex="{name}-[0-9]+",
)
DEPLOYMENT = KindRef(
    group="apps", version="v1", plural="deployments", kind="Deployment",
    observed_path="status.readyReplicas", pod_selector_path="spec.selector.matchLabels",
    pod_regex="{name}-[a-z0-9]+-[a-z0-9]+",
)
# Volcano: no /scale; a task's replicas are mutable. The task's own minAvailable and the job's
# gang minimum (spec.minAvailable, over all tasks) bound it from below.
VOLCANO_JOB = KindRef(
    group="batch.volcano.sh", version="v1alpha1", plural="jobs", kind="Job",
    replicas_path="spec.tasks[].replicas", resize="patch", entry_key="name",
    default_entry="worker", min_paths=("spec.tasks[].minAvailable",),
    gang_min_path="spec.minAvailable",
    observed_path="status.taskStatusCount.{entry}.phase.Running",
    pod_labels=(("volcano.sh/job-name", "{name}"), ("volcano.sh/task-spec", "{entry}")),
    pod_regex="{name}-{entry}-[0-9]+",
)
# KubeRay: a worker group's replicas within its own minReplicas/maxReplicas.
RAYCLUSTER = KindRef(
    group="ray.io", version="v1", plural="rayclusters", kind="RayCluster",
    replicas_path="spec.workerGroupSpecs[].replicas", resize="patch", entry_key="groupName",
    min_paths=("spec.workerGroupSpecs[].minReplicas",),
    max_paths=("spec.workerGroupSpecs[].maxReplicas",),
    observed_path="status.readyWorkerReplicas",
    pod_labels=(("ray.io/cluster", "{name}"), ("ray.io/group", "{entry}")),
    pod_regex="{name}-{entry}-worker-[a-z0-9]+",
)
# batch/v1 Job: parallelism; an elastic Indexed Job (completions == parallelism) changes both.
JOB = KindRef(
    group="batch", version="v1", plural="jobs", kind="Job",
    replicas_path="spec.parallelism", resize="patch", paired_paths=("spec.completions",),
    observed_path="status.ready",
    pod_labels=(("batch.kubernetes.io/job-name", "{name}"),),
    pod_regex="{name}-([0-9]+-)?[a-z0-9]{5}",
)
# JobSet: replicatedJobs[].replicas is immutable; the inner Job's parallelism changes only with
# the alpha ElasticJobSet gate. Without it (JOBSET) recommend only; with it, JOBSET_ELASTIC.
JOBSET = KindRef(
    group="jobset.x-k8s.io", version="v1alpha2", plural="jobsets", kind="JobSet",
    replicas_path="spec.replicatedJobs[].template.spec.parallelism", resize="none",
    entry_key="name", default_entry="workers",
    pod_labels=(("jobset.sigs.k8s.io/jobset-name", "{name}"),
                ("jobset.sigs.k8s.io/replicatedjob-name", "{entry}")),
    pod_regex="{name}-{entry}-[0-9]+-[0-9]+-[a-z0-9]{5}",
)
JOBSET_ELASTIC = KindRef(
    group=JOBSET.group, version=JOBSET.version, plural=JOBSET.plural, kind=JOBSET.kind,
    replicas_path=JOBSET.replicas_path, resize="patch", entry_key="name",
    default_entry="workers",
    paired_paths=("spec.replicatedJobs[].template.spec.completions",),
    pod_labels=JOBSET.pod_labels, pod_regex=JOBSET.pod_regex,
)
# Kubeflow Trainer v2: spec.trainer (numNodes) is immutable: recommend only.
TRAINJOB = KindRef(
    group="trainer.kubeflow.org", version="v1alpha1", plural="trainjobs", kind="TrainJob",
    replicas_path="spec.trainer.numNodes", resize="none",
    pod_labels=(("jobset.sigs.k8s.io/jobset-name", "{name}"),),
    pod_regex="{name}-node-[0-9]+-[0-9]+-[a-z0-9]{5}",
)

# By the name a settings file uses (``kinds: [{builtin: VolcanoJob}, ...]``).
BUILTIN_KINDS: dict[str, KindRef] = {
    "PyTorchJob": PYTORCHJOB,
    "StatefulSet": STATEFULSET,
    "Deployment": DEPLOYMENT,
    "VolcanoJob": VOLCANO_JOB,
    "RayCluster": RAYCLUSTER,
    "Job": JOB,
    "JobSet": JOBSET,
    "TrainJob": TRAINJOB,
}
# What the operator serves when its settings name no kinds (the plain manifests' RBAC).
DEFAULT_KINDS: tuple[KindRef, ...] = (PYTORCHJOB, STATEFULSET, DEPLOYMENT)
