#!/bin/sh
# One combination of the boot-time sweep, run by vm5k-sweep: $VM5K_P_VMS_PER_HOST VMs on each host
# of the reservation made once ($RESERVED), then the document to $VM5K_SWEEP_DOC, then the
# VMs destroyed so that the next combination starts from clean hosts.
# Re-running vm5k-net and vm5k-hosts on an already prepared reservation is cheap: a stage
# skips the work already done (docs/design.md), so only the VMs are new each time.
set -u
here=$(cd "$(dirname "$0")" && pwd)
if python3 "$here/per_host.py" "$VM5K_P_VMS_PER_HOST" < "$RESERVED" | vm5k-net | vm5k-hosts | vm5k-vms > "$VM5K_SWEEP_DOC"
then rc=0
else rc=$?
fi
# Destroy even after a failure: the next combination needs the hosts empty.
if [ -s "$VM5K_SWEEP_DOC" ]; then
    vm5k-vms --destroy -i "$VM5K_SWEEP_DOC" > "$VM5K_SWEEP_RUN/destroyed.json" || { [ "$rc" -ne 0 ] || rc=5; }
fi
exit "$rc"
