"""The real store from Python: the same chain the CLI works on, in both directions."""

import json
import subprocess

import pytest

import ironchain
from ironchain import InclusionProof, Store


def cli(binary, data_dir, *args, check=True):
    result = subprocess.run(
        [str(binary), "--data-dir", str(data_dir), *args],
        capture_output=True,
        text=True,
        timeout=120,
    )
    if check:
        assert result.returncode == 0, result.stderr + result.stdout
    return result


def test_a_chain_made_in_python_passes_the_clis_full_verification(tmp_path, ironchain_cli):
    path = tmp_path / "chain"
    with Store.init(path) as store:
        ids = store.add(["alice pays bob 5", b"\x00\xffbinary", "carol pays dave 1"])
        assert ids == [0, 1, 2] and store.pending == 3
        mined = store.mine(until_empty=True)
        assert store.pending == 0 and store.height == len(mined)
        more = store.mine(blocks=2)
        assert [b.height for b in more] == [store.height - 1, store.height]
        records = [r for block in store.blocks(start=1) for r in block.records]
        assert records == [b"alice pays bob 5", b"\x00\xffbinary", b"carol pays dave 1"]
        verification = store.verify(full=True)
        assert verification and verification.height == store.height
        assert verification.tip == store.tip and verification.work > 0
        proof = store.prove(1, 0)
        assert proof.check() and proof.record == b"alice pays bob 5"
        (tmp_path / "proof.json").write_text(proof.to_json())
    result = cli(ironchain_cli, path, "verify", "--full")
    assert result.stdout.startswith("ok:"), result.stdout
    checked = cli(ironchain_cli, path, "check-proof", str(tmp_path / "proof.json"))
    assert checked.stdout.startswith("valid:")
    # And the other way: the CLI's proof checks in Python, and Python reads the CLI's blocks.
    printed = cli(ironchain_cli, path, "prove", "1", "1").stdout
    assert InclusionProof.from_json(printed).check()
    cli(ironchain_cli, path, "add", "from the cli")
    cli(ironchain_cli, path, "mine", "--blocks", "1")
    with Store(path) as store:
        assert store.block(store.height).records == [b"from the cli"]


def test_a_tampered_store_raises_with_the_block_and_the_rule(tmp_path, ironchain_cli):
    path = tmp_path / "chain"
    with Store.init(path) as store:
        store.add(["one", "two", "three"])
        store.mine(blocks=3)
    cli(ironchain_cli, path, "tamper", "1", "--record", "0", "--text", "forged")
    with Store(path) as store:
        assert store.verification  # quick verification reads headers only
        with pytest.raises(ironchain.InvalidBlockError) as caught:
            store.verify(full=True)
        error = caught.value
        assert (error.height, error.rule) == (1, "records-altered")
        assert str(error).startswith("block 1 (") and "records altered" in str(error)
        with pytest.raises(ironchain.ReadOnlyError, match="block 1 .*records altered"):
            store.add("more")
    # A changed header fails the quick verification on opening: writes are refused with why.
    cli(ironchain_cli, path, "tamper", "2", "--header-time", "5")
    with Store(path) as store:
        assert not store.verification
        assert store.verification.invalid.height == 2
        with pytest.raises(ironchain.ReadOnlyError) as caught:
            store.mine()
        assert caught.value.height == 2 and caught.value.rule == "header-changed"
    result = cli(ironchain_cli, path, "verify", "--full", check=False)
    assert result.returncode == 3


def test_the_teaching_tamper_is_caught_by_the_cli_too(tmp_path, ironchain_cli):
    path = tmp_path / "chain"
    with Store.init(path) as store:
        store.add("honest")
        store.mine()
        store.tamper_record(1, 0, "dishonest")
        with pytest.raises(ironchain.InvalidBlockError, match="records altered"):
            store.verify(full=True)
    result = cli(ironchain_cli, path, "--json", "verify", "--full", check=False)
    assert result.returncode == 3
    assert json.loads(result.stdout)["rule"] == "records-altered"


def test_a_corrupt_proof_raises_clearly(tmp_path):
    with Store.init(tmp_path / "chain") as store:
        store.add(["a", "b", "c"])
        store.mine()
        document = json.loads(store.prove(1, 2).to_json())
    bent = dict(document, record=b"not c".hex())
    with pytest.raises(ironchain.InvalidProofError, match="the proof leads to root"):
        InclusionProof.from_json(json.dumps(bent)).check()
    short = dict(document, proof=dict(document["proof"], path=document["proof"]["path"][:-1]))
    with pytest.raises(ironchain.InvalidProofError, match="wrong length"):
        InclusionProof.from_json(json.dumps(short)).check()
    with pytest.raises(ironchain.ProofFormatError, match="not a proof from `ironchain prove`"):
        InclusionProof.from_json("{")
    with pytest.raises(ironchain.ProofFormatError, match="the header is 3 bytes; a header is 80"):
        InclusionProof.from_json(json.dumps(dict(document, header="abcdef")))
    with pytest.raises(ironchain.ProofFormatError, match="the record is not hex"):
        InclusionProof.from_json(json.dumps(dict(document, record="zz")))
    with pytest.raises(TypeError, match="a proof document is a str or bytes"):
        InclusionProof.from_json(42)


def test_bad_input_raises_clearly_and_loses_nothing(tmp_path):
    with pytest.raises(ironchain.NoChainError, match="no chain in .*: run `ironchain init`"):
        Store(tmp_path / "does-not-exist")
    with pytest.raises(TypeError):
        Store(42)
    path = tmp_path / "chain"
    Store.init(path).close()
    with pytest.raises(ironchain.ChainExistsError, match="already holds the chain \"demo\""):
        Store.init(path)
    store = Store(path)
    with pytest.raises(ironchain.ChainInUseError, match="in use by another ironchain process"):
        Store(path)
    with pytest.raises(ValueError, match="height must be 0 or more, found -1"):
        store.block(-1)
    with pytest.raises(ValueError, match="no block at height 5 \\(the tip is at 0\\)"):
        store.prove(5, 0)
    with pytest.raises(ValueError, match="block 0 has 1 records: there is no record 3"):
        store.prove(0, 3)
    with pytest.raises(TypeError, match="height must be an int, not str"):
        store.prove("1", 0)
    with pytest.raises(TypeError, match="records must be a str, bytes or an iterable"):
        store.add(5)
    with pytest.raises(TypeError, match="record 1 must be str or bytes"):
        store.add(["ok", 5])
    with pytest.raises(ValueError, match="nothing to add"):
        store.add([])
    with pytest.raises(ironchain.RecordTooLargeError, match="above this chain's limit"):
        store.add(b"x" * (2 << 20))
    with pytest.raises(ValueError, match="blocks must be 0 or more, found -1"):
        store.mine(blocks=-1)
    with pytest.raises(ValueError, match='chain must be "demo", "regtest" or "custom"'):
        Store.init(tmp_path / "other", chain="mainnet")
    with pytest.raises(ValueError, match="fixed rules"):
        Store.init(tmp_path / "other", chain="demo", spacing=5)
    assert store.pending == 0  # nothing from the refused calls was added
    store.close()
    store.close()
    with pytest.raises(ironchain.StoreClosedError, match="closed"):
        store.height
    assert "closed" in repr(store)


def test_a_custom_chain_and_the_notebook_views(tmp_path):
    with Store.init(tmp_path / "c", chain="custom", difficulty_bits=8, spacing=5, retarget_interval=20) as store:
        assert store.chain == "custom"
        store.add("<b>bold</b>")
        block = store.mine()[0]
        assert repr(block).startswith("StoredBlock(height=1,")
        assert "&lt;b&gt;" in block._repr_html_() and "<b>" not in block._repr_html_()
        assert "<table>" in store._repr_html_() and repr(store).startswith("Store(")
        assert "<table>" in store.verify()._repr_html_()
        assert "<table>" in store.prove(1, 0)._repr_html_()
        assert len(store) == 2
