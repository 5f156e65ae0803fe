"""ironchain: a proof-of-work blockchain on Bitcoin's rules, from Python.

The seed's interface: Block and Blockchain, with the seed's fields and difficulty (leading hex
zeros), hashed as 80-byte Bitcoin headers with double SHA-256 and verified by ironchain's
verifier. The real API: Store (the chain on disk the CLI uses), verify_headers (files of
Bitcoin headers), InclusionProof, catch_up_probability and blocks_needed.
"""

import os
import pathlib
from typing import Iterable, Iterator, List, Literal, Optional, Union, final

__version__: str

_Record = Union[str, bytes, bytearray, memoryview]
_Path = Union[str, "os.PathLike[str]"]

# --- the seed's interface -------------------------------------------------------------------

@final
class Block:
    """A block as the seed defines it, hashed as a Bitcoin header.

    `previous_hash`, `timestamp` (whole seconds) and `nonce` go into the 80-byte header;
    `index` and `data` are the block's records, committed to by the header's merkle root.
    """

    index: int
    """The block's position in its chain (genesis is 0)."""
    timestamp: int
    """Seconds since 1970 (a float is accepted and its fraction dropped)."""
    data: Union[str, bytes]
    """The block's data, read back as the type it was given as."""
    previous_hash: str
    """The hash of the block before, 64 hex digits (shorter hex is zero-padded: "0")."""
    nonce: int
    """0 to 2**32 - 1: what mining varies."""
    hash: str
    """The stored hash, set when made or mined or by assignment."""

    def __new__(
        cls,
        index: int,
        data: _Record,
        previous_hash: str,
        timestamp: Optional[float] = None,
    ) -> Block: ...
    @property
    def merkle_root(self) -> str:
        """The merkle root the stored hash commits to."""
    @property
    def bits(self) -> int:
        """The header's compact target, set by mine(difficulty)."""
    @property
    def difficulty(self) -> Optional[int]:
        """The difficulty (leading hex zeros) the header's bits stand for."""
    @property
    def header(self) -> bytes:
        """The 80-byte header the stored hash commits to."""
    def calculate_hash(self) -> str:
        """The double SHA-256 of the header built from the fields as they are now."""
    def mine(self, difficulty: int, threads: Optional[int] = None) -> None:
        """Tries nonces until the stored hash starts with `difficulty` hex zeros.

        Every core (or `threads`), GIL released; Ctrl-C raises KeyboardInterrupt.
        """
    def _repr_html_(self) -> str: ...

@final
class Blockchain:
    """A chain of blocks, each mined so that its hash starts with `difficulty` hex zeros."""

    chain: List[Block]
    """The blocks, genesis first: a list you may change, as in the seed."""

    def __new__(cls, difficulty: int = 4, threads: Optional[int] = None) -> Blockchain: ...
    @property
    def difficulty(self) -> int:
        """Leading hex zeros every block's hash needs (fixed when the chain is made)."""
    @property
    def last_block(self) -> Block: ...
    def add_block(self, data: _Record) -> Block:
        """Mines a block holding `data` after the last one and appends it."""
    def first_invalid(self) -> Optional[int]:
        """The index of the first block that fails verification, or None (as the seed)."""
    def is_valid(self) -> bool: ...
    def verify(self) -> Verification:
        """Every rule, with the first bad block and the rule it broke."""
    def __len__(self) -> int: ...
    def _repr_html_(self) -> str: ...

# --- verdicts --------------------------------------------------------------------------------

@final
class InvalidBlock:
    """The first block that broke a rule."""

    @property
    def height(self) -> int: ...
    @property
    def hash(self) -> Optional[str]: ...
    @property
    def rule(self) -> str:
        """A stable code: "records-altered", "header-changed", "broken-link",
        "not-enough-work", "wrong-difficulty", "time-too-old", "bad-genesis", ..."""
    @property
    def message(self) -> str: ...
    @property
    def block(self) -> Optional[Block]:
        """The offending Block, for a seed chain."""
    def _repr_html_(self) -> str: ...

@final
class Verification:
    """What a verification found: true if everything checked out."""

    @property
    def ok(self) -> bool: ...
    def __bool__(self) -> bool: ...
    @property
    def blocks(self) -> int:
        """Blocks (or headers) that verified, before the first bad one."""
    @property
    def height(self) -> Optional[int]: ...
    @property
    def tip(self) -> Optional[str]: ...
    @property
    def work(self) -> int:
        """Total work: the expected number of hashes the verified blocks took."""
    @property
    def invalid(self) -> Optional[InvalidBlock]: ...
    @property
    def seconds(self) -> float: ...
    @property
    def start_height(self) -> Optional[int]:
        """For headers: the height of the first header."""
    @property
    def headers(self) -> Optional[int]:
        """For headers: how many the data holds."""
    def _repr_html_(self) -> str: ...

# --- the real API ----------------------------------------------------------------------------

@final
class StoredBlock:
    """A block read from a Store."""

    @property
    def height(self) -> int: ...
    @property
    def hash(self) -> str: ...
    @property
    def previous_hash(self) -> str: ...
    @property
    def merkle_root(self) -> str: ...
    @property
    def time(self) -> int: ...
    @property
    def bits(self) -> int: ...
    @property
    def nonce(self) -> int: ...
    @property
    def header(self) -> bytes: ...
    @property
    def records(self) -> List[bytes]: ...
    def _repr_html_(self) -> str: ...

@final
class BlockIterator(Iterator[StoredBlock]):
    """Iterates over a Store's blocks, reading each from disk as it is needed."""

    def __iter__(self) -> BlockIterator: ...
    def __next__(self) -> StoredBlock: ...

@final
class Store:
    """A chain on disk, the same one `ironchain --data-dir PATH` works on.

    Opening verifies every header; a chain that fails opens read-only. One process at a time
    may open it: close the Store (or use `with`) before running `ironchain` on it.
    """

    def __new__(cls, path: _Path) -> Store: ...
    @staticmethod
    def init(
        path: _Path,
        chain: Literal["demo", "regtest", "custom"] = "demo",
        difficulty_bits: Optional[int] = None,
        spacing: Optional[int] = None,
        retarget_interval: Optional[int] = None,
    ) -> Store: ...
    @property
    def path(self) -> pathlib.Path: ...
    @property
    def chain(self) -> str: ...
    @property
    def verification(self) -> Optional[Verification]:
        """The quick verification done when the store was opened."""
    @property
    def height(self) -> int: ...
    @property
    def tip(self) -> str: ...
    @property
    def pending(self) -> int: ...
    def add(self, records: Union[_Record, Iterable[_Record]]) -> List[int]:
        """Adds records to the durable pool; returns their ids once on disk."""
    def mine(
        self, blocks: int = 1, until_empty: bool = False, threads: Optional[int] = None
    ) -> List[StoredBlock]:
        """Mines pending records into blocks; Ctrl-C stops it and loses nothing."""
    def verify(self, full: bool = False) -> Verification:
        """Raises InvalidBlockError naming the first bad block and rule."""
    def blocks(self, start: int = 0, stop: Optional[int] = None) -> BlockIterator: ...
    def block(self, height: int) -> StoredBlock: ...
    def prove(self, height: int, index: int) -> InclusionProof: ...
    def tamper_record(self, height: int, index: int, record: _Record) -> None:
        """TEACHING TOOL: change a stored record behind the chain's back."""
    def close(self) -> None: ...
    def __enter__(self) -> Store: ...
    def __exit__(self, *args: object) -> bool: ...
    def __len__(self) -> int: ...
    def _repr_html_(self) -> str: ...

@final
class InclusionProof:
    """A proof that a record is in a block, as `ironchain prove` prints it."""

    @staticmethod
    def from_json(text: Union[str, bytes]) -> InclusionProof: ...
    def to_json(self) -> str: ...
    def check(self) -> bool:
        """True, or raises InvalidProofError saying why."""
    @property
    def height(self) -> Optional[int]: ...
    @property
    def block_hash(self) -> str: ...
    @property
    def header(self) -> bytes: ...
    @property
    def record(self) -> bytes: ...
    @property
    def leaf_index(self) -> int: ...
    @property
    def tree_size(self) -> int: ...
    @property
    def path(self) -> List[str]: ...
    def _repr_html_(self) -> str: ...

def verify_headers(
    data: Union[bytes, bytearray, str, "os.PathLike[str]"],
    chain: Literal["bitcoin", "demo", "regtest"] = "bitcoin",
    start_height: Optional[int] = None,
    threads: Optional[int] = None,
) -> Verification:
    """Verifies raw or hex headers as `ironchain headers verify` does."""

def catch_up_probability(
    q: float, z: int, model: Literal["whitepaper", "exact"] = "whitepaper"
) -> float:
    """The chance an attacker with hash-power share q catches up from z blocks behind."""

def blocks_needed(q: float, threshold: float = 0.001, max_z: Optional[int] = None) -> Optional[int]:
    """The fewest blocks to wait for the catch-up probability to fall below threshold."""

# --- exceptions ------------------------------------------------------------------------------

class IronchainError(Exception): ...
class NoChainError(IronchainError): ...
class ChainExistsError(IronchainError): ...
class ChainInUseError(IronchainError): ...
class UnreadableChainError(IronchainError): ...
class ChainParamsError(IronchainError): ...
class DatabaseError(IronchainError): ...
class StoreClosedError(IronchainError): ...
class RecordTooLargeError(IronchainError): ...
class MiningError(IronchainError): ...
class InvalidProofError(IronchainError): ...
class ProofFormatError(IronchainError): ...
class HeaderDataError(IronchainError): ...

class InvalidBlockError(IronchainError):
    height: int
    hash: Optional[str]
    rule: str
    message: str

class ReadOnlyError(IronchainError):
    height: int
    hash: Optional[str]
    rule: str
    message: str
