//! The server side of sync: answering a peer's request from the best chain in a store.
//!
//! Answers are bounded twice: by the request's own `limit` and by the largest response the
//! network sends (`max_response` bytes), so a peer asking for 50,000 blocks of a megabyte each
//! gets as many as fit, and asks again for the rest.

use ironchain_store::{ChainStore, DbError};

use crate::sync::messages::{BLOCK_LENGTH_SIZE, BLOCKS_HEADER_SIZE, Request, Response, TipClaim};

/// Returns the answer to `request` from the best chain in `store`, in at most `max_response`
/// encoded bytes.
///
/// # Errors
/// [`DbError`] if the store fails: the request goes unanswered and the peer asks elsewhere.
pub fn answer<S: ChainStore>(
    store: &S,
    request: &Request,
    max_response: usize,
) -> Result<Response, DbError> {
    match request {
        Request::GetTip => {
            let tip = store.tip()?;
            Ok(Response::Tip(TipClaim {
                height: tip.height,
                hash: tip.hash,
                work: tip.work,
            }))
        }
        Request::GetBlocks {
            locator,
            stop,
            limit,
        } => {
            // The first locator hash on our best chain is where the asker's chain and ours
            // part; with none, they share only genesis.
            let mut fork = 0;
            for hash in locator {
                if let Some(height) = store.height_of(hash)? {
                    fork = height;
                    break;
                }
            }
            let tip = store.tip()?;
            let mut size = BLOCKS_HEADER_SIZE;
            let mut blocks = Vec::new();
            let mut height = fork + 1;
            while height <= tip.height && blocks.len() < *limit as usize {
                let Some(block) = store.block_at(height)? else {
                    break;
                };
                let with = size + BLOCK_LENGTH_SIZE + block.encoded_size();
                if with > max_response {
                    break;
                }
                size = with;
                let reached_stop = stop.is_some_and(|stop| block.block_hash() == stop);
                blocks.push(block);
                if reached_stop {
                    break;
                }
                height += 1;
            }
            Ok(Response::Blocks(blocks))
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use ironchain_core::miner::MineControl;
    use ironchain_core::{Blockchain, ChainParams};
    use ironchain_store::MemStore;

    use super::*;

    fn store_with(blocks: usize) -> (MemStore, Vec<Arc<ironchain_core::Block>>) {
        let params = ChainParams::regtest();
        let now = params.genesis.header.time + 1_000_000;
        let mut chain = Blockchain::new(params.clone()).with_threads(1);
        for i in 0..blocks {
            chain
                .add_records_at(vec![vec![i as u8; 100]], now, &MineControl::new())
                .expect("regtest mines at once");
        }
        let blocks: Vec<_> = chain.blocks().iter().cloned().map(Arc::new).collect();
        let store = MemStore::standalone(params);
        store.append_blocks(&blocks[1..], now).expect("valid");
        (store, blocks)
    }

    fn get_blocks(locator: Vec<ironchain_core::BlockHash>, limit: u32) -> Request {
        Request::GetBlocks {
            locator,
            stop: None,
            limit,
        }
    }

    #[test]
    fn blocks_start_after_the_first_locator_hash_on_the_best_chain() {
        let (store, blocks) = store_with(10);
        let unknown = ironchain_core::BlockHash::from_byte_array([7; 32]);
        let request = get_blocks(vec![unknown, blocks[4].block_hash()], 100);
        let Ok(Response::Blocks(answer)) = answer(&store, &request, usize::MAX) else {
            panic!("a blocks answer");
        };
        assert_eq!(answer, blocks[5..]);
    }

    #[test]
    fn an_unknown_locator_starts_after_genesis_and_the_limit_is_kept() {
        let (store, blocks) = store_with(10);
        let unknown = ironchain_core::BlockHash::from_byte_array([7; 32]);
        let Ok(Response::Blocks(answer)) = answer(&store, &get_blocks(vec![unknown], 3), 1 << 20)
        else {
            panic!("a blocks answer");
        };
        assert_eq!(answer, blocks[1..4]);
    }

    #[test]
    fn an_answer_never_exceeds_the_response_limit() {
        let (store, blocks) = store_with(10);
        let genesis = blocks[0].block_hash();
        // Each block is 80 + 4 + 4 + 100 = 188 bytes, 192 with its length field; the response
        // header is 5 bytes. 1,000 bytes hold five blocks.
        let Ok(Response::Blocks(answer)) = answer(&store, &get_blocks(vec![genesis], 100), 1000)
        else {
            panic!("a blocks answer");
        };
        assert_eq!(answer.len(), 5);
        assert!(Response::Blocks(answer).encode().len() <= 1000);
    }

    #[test]
    fn a_stop_hash_ends_the_answer_at_that_block() {
        let (store, blocks) = store_with(10);
        let request = Request::GetBlocks {
            locator: vec![blocks[0].block_hash()],
            stop: Some(blocks[3].block_hash()),
            limit: 100,
        };
        let Ok(Response::Blocks(answer)) = answer(&store, &request, usize::MAX) else {
            panic!("a blocks answer");
        };
        assert_eq!(answer, blocks[1..4]);
    }
}
