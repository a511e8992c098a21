"""The lab's OAR 2.5 server: Debian's packages on PostgreSQL 15, in the root namespace.

A real OAR server that knows the lab hosts as resources, like a Grid'5000 site frontend::

    from vm5k_lab import oar
    oar.up(hosts=[{"id": "host1.lab", "address": "10.77.0.11", "cores": 2, "mem_mb": 4096}],
           subnets=["10.77.4.0/22", "10.77.8.0/22"], vlans=[1, 2, 3, 4, 5, 6])
    oar.status()   # {"state": "running", "user": "vm5k", "server_pid": ..., "resources": 12, ...}
    oar.command(["oarstat", "-u"])   # argv that runs an OAR client as the lab's submitter
    oar.down()

One module per part:

- commands:  ``command()`` (OAR clients as ``USER``, in ``TZ``), ``run()``, ``OarError``;
- config:    the submitter, ``hostname``, oar.conf and OAR's ssh config;
- database:  PostgreSQL (by pid), psql, the OAR database;
- resources: Grid'5000 properties, resources per core, subnet block and vlan, their SQL;
- admission: the admission rules (Grid'5000 job types, ``slash_NN`` as subnets, production
  and exotic nodes only for the jobs that ask) and the queue ``production``;
- daemons:   oar-node's sshd, Almighty, the notifier, the jobs' oarexecs (by pid);
- epilogue:  the server epilogue: the end of a job gives its lab hosts back as Grid'5000
  does (no VM left, default network), run by OAR as ``python -m vm5k_lab.oar.epilogue``;
- server:    ``up``, ``down``, ``status``.
"""

from .admission import (
    QUEUE_PRODUCTION,
    RULE_QUEUES,
    RULE_QUEUES_HEAD,
    RULE_SUBNET,
    RULE_SUBNET_HEAD,
    RULE_TYPES,
    RULE_TYPES_HEAD,
    admission_sql,
    queue_sql,
)
from .commands import TZ, USER, OarError, command
from .config import (
    CONF_COMMENT,
    CONF_SET,
    MANAGED_MARK,
    NODE_PORT,
    OAR_CONF,
    OAR_SSH_CONFIG,
    OAR_SSHD_CONF,
    edit_conf,
    ssh_config_text,
)
from .daemons import (
    ALMIGHTY_PIDS,
    NODE_PIDFILE,
    NOTIFIER_PIDFILE,
    NOTIFY_PERIOD,
    OAREXEC_DIR,
    RUN_DIR,
    SERVER_PIDFILE,
    SERVER_PORT,
)
from .database import DB_NAME, DB_PASSWD, DB_PASSWD_RO, psql
from .resources import (
    BASE_COLUMNS,
    CPU_MODEL,
    DEFAULT_CLUSTER,
    MANAGED_TYPES,
    PROPERTIES,
    SLASH_MIN,
    VLAN_TYPES,
    desired_rows,
    host_rows,
    plan_resources,
    properties_sql,
    resources_sql,
    row_key,
    sql_literal,
    subnet_rows,
    vlan_rows,
    vlan_type,
)
from .server import down, status, up

__all__ = [
    "ALMIGHTY_PIDS", "BASE_COLUMNS", "CONF_COMMENT", "CONF_SET", "CPU_MODEL", "DB_NAME",
    "DB_PASSWD", "DB_PASSWD_RO", "DEFAULT_CLUSTER", "MANAGED_MARK", "MANAGED_TYPES",
    "NODE_PIDFILE", "NODE_PORT", "QUEUE_PRODUCTION", "RULE_QUEUES", "RULE_QUEUES_HEAD", "NOTIFIER_PIDFILE", "NOTIFY_PERIOD", "OAREXEC_DIR",
    "OAR_CONF", "OAR_SSHD_CONF", "OAR_SSH_CONFIG", "PROPERTIES", "RULE_SUBNET",
    "RULE_SUBNET_HEAD", "RULE_TYPES", "RULE_TYPES_HEAD", "RUN_DIR", "SERVER_PIDFILE",
    "SERVER_PORT", "SLASH_MIN", "TZ", "USER", "VLAN_TYPES", "OarError", "admission_sql",
    "command", "desired_rows", "down", "edit_conf", "host_rows", "plan_resources",
    "properties_sql", "psql", "resources_sql", "row_key", "sql_literal", "ssh_config_text",
    "queue_sql", "status", "subnet_rows", "up", "vlan_rows", "vlan_type",
]
