import pytest
from vm5k_doc import io, xmlio
from vm5k_doc.errors import InputError

TOPOLOGY = b"""<deployment>
  <site id="lyon">
    <cluster id="taurus">
      <host id="taurus-1">
        <vm id="a" cpu="2" mem="2048"/>
        <vm id="b"/>
      </host>
      <host id="taurus-2"><vm id="c" real_file="true" backing_file="/tmp/img.qcow2"/></host>
    </cluster>
  </site>
</deployment>"""


def test_topology_defaults_cpu_alias_and_deployment_root():
    topology = xmlio.read_topology(TOPOLOGY)
    vms = {vm["id"]: vm for vm in topology["vms"]}
    assert vms["a"]["n_cpu"] == 2 and vms["a"]["mem"] == 2048 and vms["a"]["host"] == "taurus-1"
    assert vms["b"] == {"id": "b", "mem": 512, "n_cpu": 1, "cpuset": "auto", "hdd": 10,
                        "real_file": False, "host": "taurus-1", "state": "placed"}
    assert vms["c"]["real_file"] is True
    assert [h["id"] for h in topology["hosts"]] == ["taurus-1", "taurus-2"]
    assert topology["lines"]["host:taurus-2"] == 8


def test_state_xml_round_trip_keeps_every_vm_and_attribute():
    doc = io.document_from_topology(xmlio.read_topology(TOPOLOGY))
    doc["vms"][0].update(ip="10.0.0.5", mac="00:16:3e:00:00:05", state="ready", hostname="a.lab")
    doc["hosts"][0]["state"] = "ready"
    again = io.document_from_topology(xmlio.read_topology(xmlio.write_state(doc)))
    assert again["vms"] == doc["vms"]
    assert [h["state"] for h in again["hosts"]] == ["ready", "planned"]
    assert b'state="OK"' in xmlio.write_state(doc)  # vm5k's word for a running VM/host


def test_unplaced_vms_live_under_the_root():
    doc = {"vm5k": {"version": 1, "platform": "g5k", "stages": []},
           "vms": [{"id": "vm-1", "mem": 128, "n_cpu": 1, "hdd": 1, "state": "planned"}]}
    topology = xmlio.read_topology(xmlio.write_state(doc))
    assert topology["vms"][0]["id"] == "vm-1" and topology["vms"][0]["host"] is None


@pytest.mark.parametrize("xml, message", [
    (b'<!DOCTYPE x [<!ENTITY big "boom">]><vm5k>&big;</vm5k>', "XML line 1: DOCTYPE and entities are not accepted"),
    (b"<vm5k><site id='a'>", "XML line 1:"),
    (b"<vm5k>\n<site id='lyon'><cluster id='t'><host id='h'>\n<vm id='a'/><vm id='a'/></host></cluster></site></vm5k>",
     "XML line 3: duplicate VM id 'a'"),
    (b"<vm5k><site id='lyon'><cluster id='t'>\n<host id='h'/>\n<host id='h'/></cluster></site></vm5k>",
     "XML line 3: duplicate host id 'h'"),
    (b"<vm5k><site id='lyon'><cluster id='t'><host id='h'>\n<vm id='a' mem='-1'/></host></cluster></site></vm5k>",
     "XML line 2: <vm> mem=-1 is out of range"),
    (b"<vm5k><site id='lyon'><cluster id='t'>\n<host id='h' cpu='many'/></cluster></site></vm5k>",
     "XML line 2: <host> cpu='many' is not an integer"),
    (b"<vm5k><site id='lyon'><cluster id='t'><host id='h;reboot'/></cluster></site></vm5k>",
     "host id 'h;reboot' is not a valid id"),
    (b"<topology/>", "root element must be <vm5k> or <deployment>"),
])
def test_bad_xml_is_one_line_naming_the_line(xml, message):
    with pytest.raises(InputError) as info:
        xmlio.read_topology(xml)
    assert message in str(info.value)


def test_template_one_liner():
    template = xmlio.template_from_xml('<vm mem="256" hdd="2" n_cpu="2" cpuset="0-1" backing_file="mini"/>')
    assert template == {"mem": 256, "hdd": 2, "n_cpu": 2, "cpuset": "0-1", "backing_file": "mini"}
    with pytest.raises(InputError, match="per VM"):
        xmlio.template_from_xml('<vm id="x"/>')
    with pytest.raises(InputError, match="<vm> has unknown attribute 'colour'"):
        xmlio.template_from_xml('<vm colour="x"/>')  # a template's keys are the schema's
