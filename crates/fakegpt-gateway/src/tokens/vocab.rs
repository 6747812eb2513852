//! The `cl100k_base` vocabulary and byte-pair merging.
//!
//! The 100,256 tokens live in two embedded flat arrays made by `build.rs`
//! (lengths, bytes back to back). At load the vocabulary builds one offset
//! per token and a hash index of ranks that compares against those bytes in
//! place: about 1.7 MB in all, where a map of owned byte vectors each way
//! costs over ten times that.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::hash::BuildHasher;

use hashbrown::HashTable;
use rustc_hash::FxBuildHasher;

/// A token's rank: its id in the encoding.
pub type Rank = u32;

/// Stands for a part with no rank, so that it still counts as one token.
/// It cannot happen with `cl100k_base`, where every single byte is a token.
pub const UNKNOWN: Rank = Rank::MAX;

static LENGTHS: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/cl100k_base.lengths"));
static BYTES: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/cl100k_base.bytes"));

/// Token bytes → rank, and the merging that turns a piece into tokens.
pub struct Vocabulary {
    bytes: &'static [u8],
    /// Token `r` is `bytes[offsets[r]..offsets[r + 1]]`.
    offsets: Vec<u32>,
    /// Ranks, hashed by their bytes.
    index: HashTable<Rank>,
}

impl Vocabulary {
    /// The `cl100k_base` vocabulary, or `None` if the embedded tables do not
    /// agree with each other (a broken build).
    pub fn cl100k_base() -> Option<Self> {
        Self::new(LENGTHS, BYTES)
    }

    fn new(lengths: &[u8], bytes: &'static [u8]) -> Option<Self> {
        let mut offsets = Vec::with_capacity(lengths.len() + 1);
        let mut at = 0u32;
        offsets.push(at);
        for &length in lengths {
            at = at.checked_add(u32::from(length))?;
            offsets.push(at);
        }
        if usize::try_from(at).ok()? != bytes.len() {
            return None;
        }
        let mut index = HashTable::with_capacity(lengths.len());
        for rank in 0..Rank::try_from(lengths.len()).ok()? {
            let rehash = |&r: &Rank| hash(token_of(bytes, &offsets, r));
            index.insert_unique(hash(token_of(bytes, &offsets, rank)), rank, rehash);
        }
        Some(Self {
            bytes,
            offsets,
            index,
        })
    }

    /// The bytes of token `rank` (empty for a rank that does not exist).
    pub fn token(&self, rank: Rank) -> &'static [u8] {
        token_of(self.bytes, &self.offsets, rank)
    }

    /// The rank of a token, if `piece` is one.
    pub fn rank(&self, piece: &[u8]) -> Option<Rank> {
        self.index
            .find(hash(piece), |&r| self.token(r) == piece)
            .copied()
    }
}

/// Working space for [`Vocabulary::encode_piece`], kept between pieces so
/// a long text does not allocate per word.
#[derive(Default)]
pub struct Scratch {
    /// For each live part (by its first byte): where it ends.
    end: Vec<usize>,
    /// For each live part: where the part before it starts.
    before: Vec<usize>,
    /// For each live part: the rank of it merged with the next part, if any.
    pair: Vec<Rank>,
    /// For each live part: its rank once it is the result of a merge.
    merged: Vec<Rank>,
    /// Candidate merges, lowest rank first, then leftmost.
    heap: BinaryHeap<Reverse<(Rank, usize)>>,
}

impl Vocabulary {
    /// Byte-pair encodes one piece of pre-split text, handing each token to
    /// `emit`: a whole token stays one; otherwise, starting from single
    /// bytes, the adjacent pair with the lowest rank is merged (the leftmost
    /// among equals) until no pair is a token. Linear-logarithmic in the
    /// piece's length, so a long run of one character costs no more than
    /// its length warrants.
    pub fn encode_piece(&self, piece: &[u8], scratch: &mut Scratch, emit: &mut impl FnMut(Rank)) {
        if let Some(rank) = self.rank(piece) {
            emit(rank);
            return;
        }
        let n = piece.len();
        let Scratch {
            end,
            before,
            pair,
            merged,
            heap,
        } = scratch;
        end.clear();
        end.extend(1..=n);
        before.clear();
        before.extend((0..n).map(|i| i.wrapping_sub(1)));
        pair.clear();
        pair.resize(n, UNKNOWN);
        merged.clear();
        merged.resize(n, UNKNOWN);
        heap.clear();
        for i in 0..n.saturating_sub(1) {
            if let Some(rank) = self.rank(&piece[i..i + 2]) {
                pair[i] = rank;
                heap.push(Reverse((rank, i)));
            }
        }
        while let Some(Reverse((rank, start))) = heap.pop() {
            if pair[start] != rank {
                continue; // stale: this part has grown or been absorbed since
            }
            let absorbed = end[start];
            let new_end = end[absorbed];
            end[start] = new_end;
            merged[start] = rank;
            pair[absorbed] = UNKNOWN;
            if new_end < n {
                before[new_end] = start;
            }
            pair[start] = self.candidate(piece, start, new_end, end, heap);
            if start > 0 {
                let left = before[start];
                pair[left] = self.candidate(piece, left, start, end, heap);
            }
        }
        let mut start = 0;
        while start < n {
            let stop = end[start];
            emit(match merged[start] {
                UNKNOWN => self.rank(&piece[start..stop]).unwrap_or(UNKNOWN),
                rank => rank,
            });
            start = stop;
        }
    }

    /// The rank of the part at `start` (ending at `mid`) merged with the part
    /// after it, queued as a candidate; `UNKNOWN` if there is no next part or
    /// the two together are not a token.
    fn candidate(
        &self,
        piece: &[u8],
        start: usize,
        mid: usize,
        end: &[usize],
        heap: &mut BinaryHeap<Reverse<(Rank, usize)>>,
    ) -> Rank {
        let Some(&stop) = end.get(mid) else {
            return UNKNOWN;
        };
        match self.rank(&piece[start..stop]) {
            Some(rank) => {
                heap.push(Reverse((rank, start)));
                rank
            }
            None => UNKNOWN,
        }
    }
}

fn token_of(bytes: &'static [u8], offsets: &[u32], rank: Rank) -> &'static [u8] {
    let r = rank as usize;
    match (offsets.get(r), offsets.get(r + 1)) {
        (Some(&start), Some(&end)) => bytes.get(start as usize..end as usize).unwrap_or(&[]),
        _ => &[],
    }
}

fn hash(bytes: &[u8]) -> u64 {
    FxBuildHasher.hash_one(bytes)
}
