"""The lab as a whole: up, down, status, stop-host, start-host (idempotent, by pid)."""

from __future__ import annotations

import os
import shutil
import socket
import time

from vm5k_doc import ssh as vm5k_ssh
from vm5k_doc.errors import InputError

from . import dns, hosts, images, libvirtd, network, oar, plan, reference, virt
from .state import (
    LabError,
    config_path,
    hosts_dir,
    key_path,
    lab_config,
    log,
    net_dir,
    reference_dir,
    run,
    ssh_dir,
    state_dir,
    wait_for,
    write_json,
)

DEFAULT_HOSTS = 3
DEFAULT_CORES = 2
DEFAULT_MEM_MB = 4096


def _check_root():
    if os.geteuid() != 0:
        raise LabError("the lab needs root (network namespaces, libvirtd, sshd)")


def ensure_key() -> str:
    k = key_path()
    ssh_dir().mkdir(parents=True, exist_ok=True)
    os.chmod(ssh_dir(), 0o700)
    if not k.exists():
        run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "vm5k-lab", "-f", k])
    pub = k.with_name(k.name + ".pub").read_text().strip()
    ak = hosts.authorized_keys_path()
    if not ak.exists() or ak.read_text().strip() != pub:
        ak.write_text(pub + "\n")
        os.chmod(ak, 0o600)
    return pub


def public_key() -> str:
    return key_path().with_name(key_path().name + ".pub").read_text().strip()


def ssh_options() -> list[str]:
    """vm5k's one ssh option set (vm5k_doc.ssh) with the lab key."""
    return vm5k_ssh.options(key_path())


def ssh_argv(target: str, *cmd: str, resolve=None) -> list[str]:
    """argv of `ssh [options] -l USER -- ADDRESS cmd...` with the lab key (vm5k_doc.ssh).
    target: [USER@]NAME, NAME being hostN, hostN.lab, an address, or any name the lab DNS
    knows (a VM: vm-1 or vm-1.lab, asked to the site dnsmasq, not to the control node's
    resolver). USER defaults to root."""
    user, _, name = target.rpartition("@")
    try:
        address = plan.host_address(plan.host_number(name))
    except ValueError:
        try:
            address = (resolve or dns.resolve)(name)
        except ValueError as e:
            raise LabError(str(e)) from None
    return vm5k_ssh.argv(address, *cmd, key=key_path(), user=user or "root")


def host_records(cfg: dict) -> list[dict]:
    """The hosts as OAR resources (vm5k_lab.oar.up): cluster, queue, exotic, virtual and
    standby from the layout (plan.layout; `cfg["twin"]`: the site twin)."""
    return [{"id": plan.host_fqdn(h["n"]), "address": plan.host_address(h["n"]),
             "cores": cfg["cores"], "mem_mb": cfg["mem_mb"],
             **{k: h[k] for k in ("cluster", "queue", "exotic", "virtual", "standby")}}
            for h in plan.layout(cfg["hosts"], bool(cfg.get("twin")))]


# ---------------------------------------------------------------- up

def up(n_hosts: int = DEFAULT_HOSTS, cores: int = DEFAULT_CORES, mem_mb: int = DEFAULT_MEM_MB,
       with_oar: bool = True, twin: bool = False) -> dict:
    """twin: the site twin (plan.layout): clusters prod (queue production), exo (exotic),
    novirt (no virtualization) after the default cluster lab, whose last host is in standby."""
    _check_root()
    if not 1 <= n_hosts <= plan.MAX_HOSTS:
        raise InputError(f"--hosts must be 1..{plan.MAX_HOSTS}")
    try:
        plan.layout(n_hosts, twin)
    except ValueError as e:
        raise InputError(f"--twin: {e}") from None
    if cores < 1 or mem_mb < 128:
        raise InputError("--cores must be >= 1 and --mem >= 128")
    t0 = time.monotonic()
    state_dir().mkdir(parents=True, exist_ok=True)
    os.chmod(state_dir(), 0o755)
    ensure_key()
    images.build("mini")
    check = virt.Check()            # boots the mini guest under KVM meanwhile (cached)
    libvirtd.fix_dev_kvm()
    network.up_site()
    network.start_dnsmasq(n_hosts)
    for n in hosts.known_hosts():
        if n > n_hosts:
            log.info("removing %s (lab now has %d hosts)", plan.host_name(n), n_hosts)
            hosts.remove(n)
    sshd = {}
    for n in range(1, n_hosts + 1):
        hosts.prepare_dir(n, n_hosts)
        hosts.create_netns(n)
        sshd[n] = hosts.start_sshd(n)
    have_cache = (state_dir() / "libvirt-cache" / "qemu" / "capabilities").is_dir()
    if not have_cache and not libvirtd.libvirtd_pid(1):
        # the first libvirtd probes qemu (slow); the others reuse its capabilities cache
        libvirtd.start(1, sshd[1])
        libvirtd.wait_ready(1, 120)
        libvirtd.virsh(1, "domcapabilities", "--virttype", "qemu", check=False)
        libvirtd.save_capabilities_cache(1)
    for n in range(1, n_hosts + 1):
        if not libvirtd.libvirtd_pid(n):
            libvirtd.copy_capabilities_cache(n)
            libvirtd.start(n, sshd[n])
    for n in range(1, n_hosts + 1):
        libvirtd.wait_ready(n, 120)
    if not have_cache:
        libvirtd.save_capabilities_cache(1)
    v = check.wait()
    cfg = {"hosts": n_hosts, "cores": cores, "mem_mb": mem_mb, "virt": v, "twin": twin}
    old = lab_config() or {}
    old.setdefault("twin", False)
    if {k: old.get(k) for k in cfg} != cfg:
        write_json(config_path(), cfg | {"up_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())})
    if not (reference_dir() / "lab.json").exists() or {k: old.get(k) for k in cfg} != cfg:
        reference.write(n_hosts, cores, mem_mb, v, twin)
    if with_oar:
        oar.up(host_records(cfg), plan.subnets(), list(plan.VLAN_IDS))
    log.info("lab up: %d hosts, virt %s, in %.1f s", n_hosts, v, time.monotonic() - t0)
    return status()


# ---------------------------------------------------------------- down

def down() -> dict:
    """Stop everything the lab started, by pid, and remove its runtime state (keeps the
    images, the lab key, the virt decision and the qemu capabilities cache)."""
    _check_root()
    t0 = time.monotonic()
    try:
        oar.down()
    except Exception as e:  # noqa: BLE001 - keep tearing down the rest
        log.warning("oar down: %s", e)
    for n in hosts.known_hosts():
        hosts.remove(n)
    network.down_site()
    for p in (net_dir(), hosts_dir(), reference_dir()):
        shutil.rmtree(p, ignore_errors=True)
    config_path().unlink(missing_ok=True)
    # netns deletion is asynchronous: wait until the root veth is gone
    wait_for(lambda: not network.link_exists(plan.ROOT_VETH), 5, 0.1)
    left = leftovers()
    if any(left.values()):
        raise LabError(f"down left something behind: {left}")
    log.info("lab down in %.1f s", time.monotonic() - t0)
    return {"state": "down", "seconds": round(time.monotonic() - t0, 1)}


def leftovers() -> dict:
    """What of the lab still exists (empty lists after a clean down)."""
    ns = [x for x in network.netns_list() if x == plan.LAB_NS or plan.HOST_RE.match(x)]
    return {"netns": ns, "links": network.lab_links_in_root(),
            "host_dirs": [p.name for p in hosts_dir().glob("host*")] if hosts_dir().is_dir() else []}


# ---------------------------------------------------------------- hosts

def stop_host(name: str) -> dict:
    _check_root()
    n = _configured_host(name)
    libvirtd.stop(n, destroy=False)
    hosts.stop_sshd(n)
    return host_status(n, lab_config())


def start_host(name: str) -> dict:
    _check_root()
    n = _configured_host(name)
    cfg = lab_config()
    hosts.prepare_dir(n, cfg["hosts"])
    hosts.create_netns(n)
    pid = hosts.start_sshd(n)
    libvirtd.start(n, pid)
    libvirtd.wait_ready(n, 120)
    return host_status(n, cfg)


def set_vlan(name: str, vlan: int | None) -> dict:
    """Move a host into a KaVLAN (None: DEFAULT), like `kavlan -s -i VLAN -m HOST`."""
    _check_root()
    n = _configured_host(name)
    if vlan is not None and vlan not in plan.VLAN_IDS:
        raise InputError(f"no such vlan {vlan} (lab vlans: {', '.join(map(str, plan.VLAN_IDS))})")
    out = network.set_host_vlan(n, vlan)
    # unchanged (e.g. the end of its job put it back already): its address all the same
    out.setdefault("address", plan.host_address(n) if vlan is None else plan.host_vlan_address(n, vlan))
    return out


def _configured_host(name: str) -> int:
    cfg = lab_config()
    if not cfg or not network.site_up():
        raise LabError("the lab is down (vm5k-lab up)")
    try:
        n = plan.host_number(name)
    except ValueError as e:
        raise InputError(str(e)) from None
    if n > cfg["hosts"]:
        raise InputError(f"{name}: the lab has {cfg['hosts']} hosts")
    return n


def _port_open(addr: str, port: int = 22, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((addr, port), timeout=timeout):
            return True
    except OSError:
        return False


def host_status(n: int, cfg: dict | None) -> dict:
    s = hosts.sshd_pid(n)
    lv = libvirtd.libvirtd_pid(n)
    addr = plan.host_address(n)
    if s and lv:
        st = "up"
    elif not s and not lv:
        st = "down"
    else:
        st = "partial"
    rec = {"id": plan.host_fqdn(n), "name": plan.host_name(n), "address": addr, "state": st,
           "cores": (cfg or {}).get("cores"), "mem_mb": (cfg or {}).get("mem_mb"), "ssh_port": 22,
           "netns": plan.host_name(n), "libvirt_uri": libvirtd.uri(n),
           "image_dir": hosts.IMAGE_DIR, "pids": {"sshd": s, "libvirtd": lv, "virtlogd": libvirtd.virtlogd_pid(n)}}
    vlan = network.host_port_vlan(n) if network.site_up() else None
    if vlan is not None:
        rec["vlan"] = vlan
        rec["vlan_address"] = plan.host_vlan_address(n, vlan)
        rec["vlan_id"] = plan.host_vlan_fqdn(n, vlan)
    return rec


# ---------------------------------------------------------------- status

def status() -> dict:
    cfg = lab_config()
    up_ = bool(cfg) and network.site_up() and network.dnsmasq_pid() is not None
    hs = [host_status(n, cfg) for n in range(1, cfg["hosts"] + 1)] if cfg else []
    if cfg:
        for h, spec in zip(hs, plan.layout(cfg["hosts"], bool(cfg.get("twin"))), strict=True):
            h["cluster"] = spec["cluster"]
    try:
        oar_status = oar.status()
    except Exception as e:  # noqa: BLE001
        oar_status = {"state": "error", "error": str(e)}
    out = {
        "state": "up" if up_ else "down",
        "hosts": hs,
        # options: what to put beside `-i key` (vm5k_doc.ssh's one set)
        "ssh": {"user": "root", "key": str(key_path()), "options": list(vm5k_ssh.OPTIONS)},
        "oar": oar_status,
        "images": images.all_info(),
        "virt": (cfg or {}).get("virt") or virt.cached(),
        "network": {
            "netns": plan.LAB_NS, "bridge": plan.BRIDGE, "network": str(plan.SITE_NET),
            "infra": str(plan.INFRA_NET), "netmask": plan.NETMASK, "gateway": plan.GATEWAY,
            "virt_gateway": plan.VIRT_GATEWAY, "dns": [plan.GATEWAY], "domain": plan.DOMAIN,
            "control": plan.CONTROL, "host_bridge": "br0",
            "dhcp": {
                "server": plan.GATEWAY,
                "pid": network.dnsmasq_pid(),
                "reload": "kill -HUP <pid>",
                "config": str(network.dnsmasq_conf_path()),
                "hostsfile_dir": str(network.dhcp_hosts_dir()),
                "hostsfile_format": "MAC,IP[,NAME] per line",
                "addn_hosts_dir": str(network.addn_hosts_dir()),
                "leases": str(network.leases_path()),
            },
            "subnets": plan.subnets(),
            "vlans": plan.vlans(),
        },
        "twin": bool((cfg or {}).get("twin")),
        "reference": str(reference_dir() / "lab.json"),
        "reference_kavlan": str(reference_dir() / "kavlan-and-subnets.json"),
        "state_dir": str(state_dir()),
    }
    if not up_:
        left = leftovers()
        if any(left.values()):
            out["leftovers"] = left
    return out
