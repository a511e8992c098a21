"""Placement of VMs on hosts, with capacity checks on RAM and vCPUs.

A host takes a VM while the VMs' RAM fits in the host's RAM minus a reserve for the host
itself, and their vCPUs fit in cores (or threads) x cpu_ratio. A VM that does not fit is
an error that says how many fit: never a silent drop (vm5k's n_by_hosts dropped VMs).
"""
import random as random_module

from .errors import InputError, NoResources

DISTRIBUTIONS = ("round-robin", "concentrated", "n_by_hosts", "random")
DEFAULT_CPU_RATIO = 3.0  # vm5k's rule: 3 vCPUs per core


def host_reserve_mb(mem_mb):
    """RAM kept for the host: 2 % clamped to 256 MB..4 GB (EnOSlib's rule)."""
    return int(min(max(mem_mb * 0.02, 256), 4096))


def usable_mem_mb(host):
    mem = int(host.get("mem_mb") or 0)
    return max(mem - host_reserve_mb(mem), 0)


def vcpu_capacity(host, cpu_ratio=DEFAULT_CPU_RATIO, vcore="core"):
    units = host.get("threads") if vcore == "thread" else host.get("cores")
    units = units or host.get("cores") or 1
    return units * cpu_ratio


class Capacity:
    """What is left on each host, RAM in MB and vCPUs."""

    def __init__(self, hosts, cpu_ratio=DEFAULT_CPU_RATIO, vcore="core"):
        self.mem = {h["id"]: usable_mem_mb(h) for h in hosts}
        self.cpu = {h["id"]: vcpu_capacity(h, cpu_ratio, vcore) for h in hosts}

    def fits(self, host_id, vm):
        return self.mem[host_id] >= vm["mem"] and self.cpu[host_id] >= vm["n_cpu"]

    def take(self, host_id, vm):
        self.mem[host_id] -= vm["mem"]
        self.cpu[host_id] -= vm["n_cpu"]


def max_vms(host, vm, cpu_ratio=DEFAULT_CPU_RATIO, vcore="core"):
    """How many VMs like `vm` one host can take."""
    by_mem = usable_mem_mb(host) // max(vm["mem"], 1)
    by_cpu = int(vcpu_capacity(host, cpu_ratio, vcore) // max(vm["n_cpu"], 1))
    return int(min(by_mem, by_cpu))


def _not_enough(placed, vms, hosts):
    total_mem = sum(vm["mem"] for vm in vms)
    total_cpu = sum(vm["n_cpu"] for vm in vms)
    host_mem = sum(usable_mem_mb(h) for h in hosts)
    return NoResources(
        f"not enough capacity: {placed} of {len(vms)} VMs fit on {len(hosts)} hosts "
        f"(VMs need {total_mem} MB RAM and {total_cpu} vCPUs; hosts offer {host_mem} MB after reserve)")


def place(vms, hosts, distribution="round-robin", seed=0, cpu_ratio=DEFAULT_CPU_RATIO, vcore="core",
          keep_placed=True):
    """Set vm['host'] for every VM; returns the VMs. Raises NoResources if some do not fit.

    hosts: records with id, mem_mb, cores (threads); their order is the placement order.
    VMs that already have a host on the list are kept there (and counted) when keep_placed.
    """
    if distribution not in DISTRIBUTIONS:
        raise InputError(f"distribution {distribution!r} is not one of {', '.join(DISTRIBUTIONS)}")
    if not hosts:
        raise NoResources(f"no host to place {len(vms)} VMs on")
    capacity = Capacity(hosts, cpu_ratio, vcore)
    ids = [h["id"] for h in hosts]
    todo = []
    for vm in vms:
        if keep_placed and vm.get("host") in capacity.mem:
            capacity.take(vm["host"], vm)
        else:
            todo.append(vm)
    if distribution == "n_by_hosts":
        chosen = _n_by_hosts(todo, ids, capacity)
    elif distribution == "concentrated":
        chosen = _concentrated(todo, ids, capacity)
    elif distribution == "random":
        chosen = _random(todo, ids, capacity, seed)
    else:
        chosen = _round_robin(todo, ids, capacity)
    if len(chosen) < len(todo):
        raise _not_enough(len(vms) - len(todo) + len(chosen), vms, hosts)
    for vm, host_id in zip(todo, chosen, strict=True):
        vm["host"] = host_id
    return vms


def _round_robin(vms, ids, capacity):
    chosen, start, n = [], 0, len(ids)
    for vm in vms:
        for step in range(n):
            host_id = ids[(start + step) % n]
            if capacity.fits(host_id, vm):
                capacity.take(host_id, vm)
                chosen.append(host_id)
                start = (start + step + 1) % n
                break
        else:
            return chosen
    return chosen


def _concentrated(vms, ids, capacity):
    chosen, index = [], 0
    for vm in vms:
        while index < len(ids) and not capacity.fits(ids[index], vm):
            index += 1  # a host that cannot take this VM is full for good: move on
        if index == len(ids):
            return chosen
        capacity.take(ids[index], vm)
        chosen.append(ids[index])
    return chosen


def _n_by_hosts(vms, ids, capacity):
    """The same number of VMs on every host (the first hosts take the remainder)."""
    share, extra = divmod(len(vms), len(ids))
    chosen, position = [], 0
    for index, host_id in enumerate(ids):
        count = share + (1 if index < extra else 0)
        for vm in vms[position:position + count]:
            if not capacity.fits(host_id, vm):
                return chosen
            capacity.take(host_id, vm)
            chosen.append(host_id)
        position += count
    return chosen


def _random(vms, ids, capacity, seed):
    rng = random_module.Random(seed)
    chosen = []
    for vm in vms:
        candidates = [h for h in ids if capacity.fits(h, vm)]
        if not candidates:
            return chosen
        host_id = rng.choice(candidates)
        capacity.take(host_id, vm)
        chosen.append(host_id)
    return chosen
