"""The bastion's user data, run for real against Debian's OpenSSH server in private namespaces.

The script runs unmodified (the very userData the stack gives EC2) over a private /etc/ssh whose sshd_config starts
with `Include /etc/ssh/sshd_config.d/*.conf`, as AL2023's does, followed by permissive settings: only a drop-in
that sshd really reads, and an sshd that is really restarted, can turn them off. Before the script runs, sshd is
already up with those settings, as on a booting instance. `systemctl` is the one stand-in (no systemd in the
sandbox): it stops and starts that sshd the way sshd.service does. Then sshd itself says what it enforces
(`sshd -T`) and real clients try a key login (accepted), a password login and a root login (refused).
"""

import subprocess
import textwrap
from pathlib import Path

import pytest

from tests.conftest import BASTION, Builder
from tests.sandbox import require, run_private

PASSWORD = "correct-horse-battery"
BASE_CONFIG = """\
Include /etc/ssh/sshd_config.d/*.conf
ListenAddress 127.0.0.1
HostKey /etc/ssh/ssh_host_ed25519_key
AuthorizedKeysFile /etc/ssh/authorized_keys/%u
PidFile /run/sshd.pid
UsePAM no
PasswordAuthentication yes
KbdInteractiveAuthentication yes
PermitRootLogin yes
"""
# systemd's part, and no more: `systemctl restart sshd` stops the running sshd and starts it with the config on disk.
SYSTEMCTL = """\
#!/bin/bash
echo "$*" >> "$WORK/systemctl.log"
case "$1" in start|restart) ;; *) exit 0 ;; esac
[ "${2%.service}" = sshd ] || exit 0
if [ -f /run/sshd.pid ]; then
    pid=$(cat /run/sshd.pid); kill "$pid"
    while kill -0 "$pid" 2>/dev/null; do sleep 0.05; done
fi
rm -f /run/sshd.pid
/usr/sbin/sshd -f /etc/ssh/sshd_config -E "$WORK/sshd.log" || exit 1
# Returns once sshd listens, as systemd's start of the Type=notify sshd.service does: sshd writes its pid file then.
for _ in $(seq 200); do [ -s /run/sshd.pid ] && exit 0; sleep 0.05; done
exit 1
"""
DRIVER = """\
set -u
export WORK={work}
mount --make-rprivate /
ip link set lo up
mount -t tmpfs tmpfs /run && mkdir -p /run/sshd && chmod 755 /run/sshd
for file in passwd shadow group; do mount --bind "$WORK/$file" "/etc/$file"; done
mount --bind "$WORK/etc-ssh" /etc/ssh
export PATH="$WORK/bin:$PATH"
systemctl start sshd
bash "$WORK/user-data.sh" > "$WORK/user-data.log" 2>&1; echo "user-data $?"
/usr/sbin/sshd -T -f /etc/ssh/sshd_config -C user=ec2-user,host=client,addr=127.0.0.1 > "$WORK/sshd-T" 2>&1
CLIENT="ssh -F /dev/null -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o ConnectTimeout=5"
$CLIENT -o BatchMode=yes -i "$WORK/id_ed25519" ec2-user@127.0.0.1 'echo logged-in-as-$(id -un)' 2>/dev/null
echo "key-login $?"
$CLIENT -o BatchMode=yes -i "$WORK/id_ed25519" root@127.0.0.1 'echo logged-in-as-$(id -un)' 2>/dev/null
echo "root-login $?"
SSH_ASKPASS="$WORK/askpass" SSH_ASKPASS_REQUIRE=force DISPLAY=none \\
    $CLIENT -o PubkeyAuthentication=no -o PreferredAuthentications=password,keyboard-interactive \\
    -o NumberOfPasswordPrompts=1 ec2-user@127.0.0.1 'echo logged-in-as-$(id -un)' 2>/dev/null
echo "password-login $?"
"""


def _executable(path: Path, text: str) -> None:
    path.write_text(text)
    path.chmod(0o755)


def _sandbox(work: Path, user_data: str) -> Path:
    """The private /etc/ssh, user database, keys and stand-ins the driver binds into place."""
    etc_ssh = work / "etc-ssh"
    (etc_ssh / "sshd_config.d").mkdir(parents=True)
    (etc_ssh / "authorized_keys").mkdir()
    (etc_ssh / "sshd_config").write_text(BASE_CONFIG)
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", etc_ssh / "ssh_host_ed25519_key"], check=True)
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", work / "id_ed25519"], check=True)
    client_key = (work / "id_ed25519.pub").read_text()
    for user in ("ec2-user", "root"):
        (etc_ssh / "authorized_keys" / user).write_text(client_key)
    hashed = subprocess.run(
        ["openssl", "passwd", "-6", PASSWORD], check=True, capture_output=True, text=True
    ).stdout.strip()
    home = work / "home"
    home.mkdir()
    home.chmod(0o755)
    passwd = Path("/etc/passwd").read_text()
    shadow = Path("/etc/shadow").read_text()
    group = Path("/etc/group").read_text()
    # Both users can log in with the password, so only sshd's settings can refuse them.
    shadow = "".join(
        f"root:{hashed}:19000:0:99999:7:::\n" if line.startswith("root:") else line + "\n"
        for line in shadow.splitlines()
    )
    ids = [int(line.split(":")[2]) for line in passwd.splitlines() + group.splitlines() if line.count(":") >= 3]
    uid = 1 + max(i for i in ids if i < 60000)  # a free id below nobody's
    (work / "passwd").write_text(passwd + f"ec2-user:x:{uid}:{uid}::{home}:/bin/bash\n")
    (work / "shadow").write_text(shadow + f"ec2-user:{hashed}:19000:0:99999:7:::\n")
    (work / "group").write_text(group + f"ec2-user:x:{uid}:\n")
    (work / "shadow").chmod(0o600)
    (work / "bin").mkdir()
    _executable(work / "bin" / "systemctl", SYSTEMCTL)
    _executable(work / "askpass", f"#!/bin/sh\necho '{PASSWORD}'\n")
    (work / "user-data.sh").write_text(user_data)
    driver = work / "driver.sh"
    driver.write_text(DRIVER.format(work=work))
    return driver


@pytest.fixture(scope="module")
def boot(tmp_path_factory):
    require("sshd", "ssh", "ssh-keygen", "openssl", "ip")
    user_data = Builder()({"bastion": BASTION}).named("web-bastion").inputs["userData"]
    work = tmp_path_factory.mktemp("bastion-boot")
    work.chmod(0o755)
    done = run_private(_sandbox(work, user_data))
    assert done.returncode == 0, done.stderr
    results = dict(line.rsplit(" ", 1) for line in done.stdout.splitlines() if line.rsplit(" ", 1)[-1].isdigit())
    logins = [line for line in done.stdout.splitlines() if line.startswith("logged-in-as-")]
    effective = {}
    for line in (work / "sshd-T").read_text().splitlines():
        key, _, value = line.partition(" ")
        effective[key] = value
    return {"results": results, "logins": logins, "effective": effective, "work": work}


def test_the_user_data_succeeds_and_restarts_sshd(boot):
    assert boot["results"]["user-data"] == "0", (boot["work"] / "user-data.log").read_text()
    assert "restart sshd" in (boot["work"] / "systemctl.log").read_text().splitlines()


def test_sshd_reads_the_drop_in_and_enforces_keys_only_without_root(boot):
    effective = boot["effective"]
    assert "passwordauthentication" in effective, textwrap.shorten(str(effective), 500)
    assert effective["passwordauthentication"] == "no"
    assert effective["kbdinteractiveauthentication"] == "no"
    assert effective["permitrootlogin"] == "no"
    assert effective["pubkeyauthentication"] == "yes"


def test_a_key_login_is_accepted(boot):
    assert boot["results"]["key-login"] == "0", (boot["work"] / "sshd.log").read_text()
    assert "logged-in-as-ec2-user" in boot["logins"]


def test_password_and_root_logins_are_refused(boot):
    # 255: ssh's own failure (authentication refused), not the remote command's exit status.
    assert boot["results"]["password-login"] == "255"
    assert boot["results"]["root-login"] == "255"
    assert boot["logins"] == ["logged-in-as-ec2-user"]
