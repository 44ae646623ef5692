"""A second implementation of C2SP tlog-cosignature agrees with ours byte for byte: a small Go
program on the standard library alone (crypto/ed25519, crypto/sha256) derives the witness key
ID and vkey (signature type 0x04), makes the cosignature/v1 signature (Ed25519 is
deterministic, so both must print the same line), and verifies cosignatures that our real
witness server returned; a forged one fails in both.

Skips without the ``go`` command; builds offline (GOPROXY=off), as the log's cross-check."""

from __future__ import annotations

import base64
import shutil
import subprocess
from pathlib import Path

import pytest

from ledger.errors import VerificationError
from ledger.tlog.note import split_note
from ledger.witness.cosignature import WitnessSigner, verify_cosignatures
from tests.e2e.test_go_crosscheck import go_env
from tests.support.witness import ToyLog, served_witness

GO = shutil.which("go")
pytestmark = pytest.mark.skipif(GO is None, reason="needs the go command")
SEED = bytes(range(32))
NAME = "witness.example/go"

GO_MAIN = r"""package main

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"os"
	"strconv"
	"strings"
)

func fail(format string, args ...interface{}) {
	fmt.Printf("FAIL: "+format+"\n", args...)
	os.Exit(1)
}

// keyID is SHA-256(name || 0x0A || 0x04 || public key)[:4] (C2SP tlog-cosignature).
func keyID(name string, pub []byte) []byte {
	h := sha256.New()
	h.Write([]byte(name + "\n"))
	h.Write([]byte{0x04})
	h.Write(pub)
	return h.Sum(nil)[:4]
}

func message(body string, ts uint64) []byte {
	return []byte(fmt.Sprintf("cosignature/v1\ntime %d\n%s", ts, body))
}

func split(note string) (string, []string) {
	i := strings.LastIndex(note, "\n\n")
	if i < 0 || !strings.HasSuffix(note, "\n") {
		fail("not a signed note")
	}
	return note[:i+1], strings.Split(strings.TrimSuffix(note[i+2:], "\n"), "\n")
}

func read(path string) string {
	data, err := os.ReadFile(path)
	if err != nil {
		fail("%v", err)
	}
	return string(data)
}

func signer(seedHex string) (ed25519.PrivateKey, ed25519.PublicKey) {
	seed, err := hex.DecodeString(seedHex)
	if err != nil || len(seed) != ed25519.SeedSize {
		fail("bad seed")
	}
	priv := ed25519.NewKeyFromSeed(seed)
	return priv, priv.Public().(ed25519.PublicKey)
}

// cosig key <seed hex> <name>: the vkey.
// cosig sign <seed hex> <name> <time> <note file>: the cosignature line of the note's body.
// cosig verify <vkey> <note file>: "OK <time>" per valid cosignature by the key, "NONE" if
// there is none, "FAIL: ..." (exit 1) for one that does not verify.
func main() {
	switch os.Args[1] {
	case "key":
		_, pub := signer(os.Args[2])
		name := os.Args[3]
		fmt.Printf("%s+%x+%s\n", name, keyID(name, pub),
			base64.StdEncoding.EncodeToString(append([]byte{0x04}, pub...)))
	case "sign":
		priv, pub := signer(os.Args[2])
		name := os.Args[3]
		ts, err := strconv.ParseUint(os.Args[4], 10, 63)
		if err != nil {
			fail("bad time")
		}
		body, _ := split(read(os.Args[5]))
		var stamp [8]byte
		binary.BigEndian.PutUint64(stamp[:], ts)
		sig := ed25519.Sign(priv, message(body, ts))
		raw := append(append(keyID(name, pub), stamp[:]...), sig...)
		fmt.Printf("— %s %s\n", name, base64.StdEncoding.EncodeToString(raw))
	case "verify":
		parts := strings.SplitN(os.Args[2], "+", 3)
		if len(parts) != 3 {
			fail("not a vkey")
		}
		name := parts[0]
		id, err1 := hex.DecodeString(parts[1])
		key, err2 := base64.StdEncoding.DecodeString(parts[2])
		if err1 != nil || err2 != nil || len(key) != 33 || key[0] != 0x04 {
			fail("not a cosignature/v1 vkey")
		}
		pub := ed25519.PublicKey(key[1:])
		if !bytes.Equal(keyID(name, pub), id) {
			fail("key ID does not match the key")
		}
		body, lines := split(read(os.Args[3]))
		found := false
		for _, line := range lines {
			fields := strings.SplitN(strings.TrimPrefix(line, "\u2014 "), " ", 2)
			if len(fields) != 2 || fields[0] != name {
				continue
			}
			raw, err := base64.StdEncoding.DecodeString(fields[1])
			if err != nil || len(raw) < 4 || !bytes.Equal(raw[:4], id) {
				continue
			}
			if len(raw) != 4+8+ed25519.SignatureSize {
				fail("cosignature of %d bytes", len(raw))
			}
			ts := binary.BigEndian.Uint64(raw[4:12])
			if !ed25519.Verify(pub, message(body, ts), raw[12:]) {
				fail("cosignature by %s does not verify", name)
			}
			fmt.Printf("OK %d\n", ts)
			found = true
		}
		if !found {
			fmt.Println("NONE")
		}
	}
}
"""


@pytest.fixture(scope="module")
def cosig(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The Go program, built once per run."""
    folder = tmp_path_factory.mktemp("go-cosignature")
    (folder / "go.mod").write_text("module cosig\n\ngo 1.19\n")
    (folder / "main.go").write_text(GO_MAIN)
    assert GO is not None
    built = subprocess.run([GO, "build", "-o", "cosig", "."], cwd=folder, env=go_env(folder),
                           capture_output=True, text=True, timeout=300, check=False)
    assert built.returncode == 0, built.stderr
    return folder / "cosig"


def _go(program: Path, *args: str) -> tuple[int, str]:
    done = subprocess.run([str(program), *args], capture_output=True, text=True, timeout=60,
                          check=False)
    return done.returncode, done.stdout


def test_key_id_vkey_and_signature_bytes_agree(cosig: Path, tmp_path: Path) -> None:
    ours = WitnessSigner(NAME, SEED)
    assert _go(cosig, "key", SEED.hex(), NAME) == (0, ours.key.vkey + "\n")
    log = ToyLog().grow(5)
    note = tmp_path / "checkpoint"
    note.write_bytes(log.note())
    code, line = _go(cosig, "sign", SEED.hex(), NAME, "1767225600", str(note))
    assert code == 0
    assert line == ours.cosign(log.body(), 1767225600)  # deterministic Ed25519: same bytes
    [held] = verify_cosignatures(log.body(), [line], [ours.key])
    assert held.timestamp == 1767225600


async def test_go_verifies_our_witness_servers_cosignatures(cosig: Path, tmp_path: Path) -> None:
    log = ToyLog().grow(9)
    async with served_witness(tmp_path, log.signer) as witness:
        status, lines, _ = await witness.post(log.submission(0))
    assert status == 200
    cosigned = tmp_path / "cosigned"
    cosigned.write_bytes(log.note() + lines.encode())
    code, said = _go(cosig, "verify", witness.signer.key.vkey, str(cosigned))
    assert code == 0 and said.startswith("OK "), said
    # Another witness's key: its line is not this key's, so none is found.
    other = WitnessSigner("witness.example/other", bytes(32)).key.vkey
    assert _go(cosig, "verify", other, str(cosigned)) == (0, "NONE\n")
    # A forged cosignature (one bit of the signature flipped) fails in Go and in Python.
    body, sigs = split_note(cosigned.read_bytes())
    name, encoded = sigs[-1].removeprefix("— ").split(" ")
    raw = bytearray(base64.b64decode(encoded))
    raw[40] ^= 1
    forged_line = f"— {name} {base64.b64encode(bytes(raw)).decode()}\n"
    forged = tmp_path / "forged"
    forged.write_bytes(log.note() + forged_line.encode())
    code, said = _go(cosig, "verify", witness.signer.key.vkey, str(forged))
    assert code == 1 and said.startswith("FAIL: cosignature by"), said
    with pytest.raises(VerificationError):
        verify_cosignatures(body, [forged_line], [witness.signer.key])
