"""OAR's admission rules, as the lab needs them: rule 16 accepts the Grid'5000, execo and
enoslib job types, a new rule turns ``slash_NN=..`` without a type into ``type='subnet'``
(as on Grid'5000), and another keeps production and exotic nodes for the jobs that ask
for them (queue ``production``, type ``exotic``), as Grid'5000's rules do. The queue
``production`` itself is a row of OAR's ``queues`` table (``queue_sql``)."""

from __future__ import annotations

RULE_TYPES_HEAD = "# Check if job types are valid"
RULE_TYPES = RULE_TYPES_HEAD + r""" (vm5k-lab: Grid'5000, execo and enoslib types accepted)
my @types = (
    qr/^container(?:=\w+)?$/,                 qr/^deploy(?:=standby)?$/,
    qr/^desktop_computing$/,                   qr/^besteffort$/,
    qr/^cosystem(?:=standby)?$/,                qr/^idempotent$/,
    qr/^placeholder=\w+$/,                    qr/^allowed=\w+$/,
    qr/^inner=\w+$/,                          qr/^timesharing=(?:(?:\*|user),(?:\*|name)|(?:\*|name),(?:\*|user))$/,
    qr/^token\:\w+\=\d+$/,                 qr/^noop(?:=standby)?$/,
    qr/^(?:postpone|deadline|expire)=\d\d\d\d-\d\d-\d\d(?:\s+\d\d:\d\d(?::\d\d)?)?$/,
    qr/^state=permissive$/,
    # Grid'5000 / execo / enoslib
    qr/^allow_classic_ssh$/,  qr/^origin=\S+$/,  qr/^monitor=\S*$/,  qr/^exotic$/,
    qr/^destructive$/,  qr/^night$/,  qr/^day$/,  qr/^production$/,  qr/^heterogeneous$/,
);
foreach my $t ( @{$type_list} ) {
    my $match = 0;
    foreach my $r (@types) {
        if ($t =~ $r) {
            $match = 1;
        }
    }
    unless ( $match ) {
        die( "[ADMISSION RULE] Error: unknown job type: $t\n");
    }
}
"""

RULE_SUBNET_HEAD = "# vm5k-lab: slash_NN without a type"
RULE_SUBNET = RULE_SUBNET_HEAD + r""" is a subnet request (as on Grid'5000); runs before the rule that adds type = 'default'
foreach my $mold (@{$ref_resource_list}){
    foreach my $r (@{$mold->[0]}){
        my $prop = $r->{property};
        next if (defined($prop) and (($prop =~ /[\s\(]type[\s=]/) or ($prop =~ /^type[\s=]/)));
        if ($r->{resources}->[0]->{resource} =~ /^slash_\d+$/){
            $r->{property} = defined($prop) ? "($prop) AND type = 'subnet'" : "type = 'subnet'";
        }
    }
}
"""


RULE_QUEUES_HEAD = "# vm5k-lab: production and exotic nodes"
RULE_QUEUES = RULE_QUEUES_HEAD + r""" only for the jobs that ask for them (as on Grid'5000)
# queue production: only nodes with production = 'YES'; the other queues (besteffort and
# admin aside): never them. Exotic nodes (exotic = 'YES') only for jobs of type exotic.
# Runs after the rule that adds type = 'default': node requests are those groups.
my @vm5k_add;
if ($queue_name eq "production") {
    push(@vm5k_add, "production = 'YES'");
} elsif ($queue_name ne "besteffort" and $queue_name ne "admin") {
    push(@vm5k_add, "production = 'NO'");
}
push(@vm5k_add, "exotic = 'NO'") unless (grep { $_ eq "exotic" } @{$type_list});
if (@vm5k_add) {
    foreach my $mold (@{$ref_resource_list}){
        foreach my $r (@{$mold->[0]}){
            my $prop = $r->{property};
            next unless (defined($prop) and $prop =~ /type\s*=\s*'default'/);
            $r->{property} = "($prop) AND " . join(" AND ", @vm5k_add);
        }
    }
}
"""

# OAR's default queue runs at priority 2 (admin 10, besteffort 0)
QUEUE_PRODUCTION = ("production", 3)


def dollar_quoted(text: str) -> str:
    tag = "$vm5k$"
    if tag in text:
        raise ValueError("rule text holds the quoting tag")
    return f"{tag}{text}{tag}"


def queue_sql() -> str:
    """Idempotent SQL: the queue production, with the default queue's scheduler."""
    name, prio = QUEUE_PRODUCTION
    return (f"INSERT INTO queues (queue_name, priority, scheduler_policy, state) "
            f"SELECT '{name}', {prio}, scheduler_policy, 'Active' FROM queues "
            f"WHERE queue_name = 'default' AND NOT EXISTS "
            f"(SELECT 1 FROM queues WHERE queue_name = '{name}');\n")


def admission_sql() -> str:
    """Idempotent SQL: rule 16 replaced by its extended version, the subnet rule added
    (priority 16, after rule 16 and before rule 17 which adds type = 'default'), the
    production/exotic rule added (priority 18, after rule 17)."""
    head = RULE_TYPES_HEAD.replace("'", "''")
    sub = RULE_SUBNET_HEAD.replace("'", "''")
    que = RULE_QUEUES_HEAD.replace("'", "''")
    return (
        f"UPDATE admission_rules SET rule = {dollar_quoted(RULE_TYPES)} "
        f"WHERE rule LIKE '{head}%' AND rule <> {dollar_quoted(RULE_TYPES)};\n"
        f"DELETE FROM admission_rules WHERE rule LIKE '{sub}%' AND rule <> {dollar_quoted(RULE_SUBNET)};\n"
        f"INSERT INTO admission_rules (priority, enabled, rule) SELECT 16, 'YES', {dollar_quoted(RULE_SUBNET)} "
        f"WHERE NOT EXISTS (SELECT 1 FROM admission_rules WHERE rule LIKE '{sub}%');\n"
        f"DELETE FROM admission_rules WHERE rule LIKE '{que}%' AND rule <> {dollar_quoted(RULE_QUEUES)};\n"
        f"INSERT INTO admission_rules (priority, enabled, rule) SELECT 18, 'YES', {dollar_quoted(RULE_QUEUES)} "
        f"WHERE NOT EXISTS (SELECT 1 FROM admission_rules WHERE rule LIKE '{que}%');\n"
        + queue_sql())

