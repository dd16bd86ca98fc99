//! The chain client: JSON-RPC over HTTP with alloy. It checks the chain id at
//! start, signs payout transactions locally with explicit nonces and
//! EIP-1559 fees (capped), and reads receipts and Transfer logs. It holds no
//! state of its own: nonces, signed bytes and results live in the store.

use payquest_types::ChunkId;
use std::time::Duration;

use alloy::eips::eip2718::Encodable2718;
use alloy::eips::{BlockId, BlockNumberOrTag};
use alloy::network::{EthereumWallet, NetworkTransactionBuilder, TransactionBuilder};
pub use alloy::primitives::Address;
use alloy::primitives::{Bytes, B256, U256};
use alloy::providers::{Provider, ProviderBuilder, RootProvider};
use alloy::rpc::types::{Filter, TransactionRequest};
use alloy::signers::local::PrivateKeySigner;
use alloy::sol_types::{SolCall, SolEvent, SolValue};

use crate::secret::Secret;
use crate::store::ObservedTransfer;

alloy::sol! {
    /// The batch payout contract (contracts/src/PayoutBatch.sol).
    #[sol(rpc)]
    interface IPayoutBatch {
        function pay(uint256 batchId, address token, address from, bytes32[] calldata entries) external;
        function executed(uint256 batchId) external view returns (bool);
        function setOperator(address newOperator) external;
        event BatchPaid(uint256 indexed batchId, uint256 count, uint256 total);
    }

    /// The dev ERC-20 (contracts/src/PayQuestToken.sol); any ERC-20 for the read side.
    #[sol(rpc)]
    interface IPayQuestToken {
        event Transfer(address indexed from, address indexed to, uint256 value);
        function mint(address to, uint256 amount) external;
        function approve(address spender, uint256 amount) external returns (bool);
        function transfer(address to, uint256 amount) external returns (bool);
        function balanceOf(address account) external view returns (uint256);
        function decimals() external view returns (uint8);
    }
}

const TOKEN_ARTIFACT: &str = include_str!("../../contracts/out/PayQuestToken.json");
const PAYOUT_ARTIFACT: &str = include_str!("../../contracts/out/PayoutBatch.json");

/// Amounts in the ledger have 6 decimals (money rule 1).
pub const LEDGER_DECIMALS: u8 = 6;
/// Every RPC call gives up after this long.
const RPC_TIMEOUT: Duration = Duration::from_secs(15);
/// Blocks per `eth_getLogs` request.
pub const LOG_WINDOW_BLOCKS: u64 = 2_000;

#[derive(Debug, thiserror::Error)]
pub enum ChainError {
    #[error("chain RPC: {0}")]
    Rpc(String),
    #[error("the node is on chain {actual}, configured for {expected}")]
    WrongChain { expected: u64, actual: u64 },
    #[error("no contract code at {0}: a fresh chain, or the wrong address")]
    NoCode(Address),
    #[error("the chain went backwards (block {now} < {seen}): refusing to send")]
    ChainReset { now: u64, seen: u64 },
    #[error("invalid chain setting: {0}")]
    Config(String),
}

pub type ChainResult<T> = Result<T, ChainError>;

/// Errors of the HTTP client name the URL, which may carry the provider's key.
fn rpc(e: impl std::fmt::Display) -> ChainError {
    ChainError::Rpc(crate::secret::redact_urls_in(&e.to_string()))
}

async fn timed<T, E: std::fmt::Display>(
    f: impl std::future::IntoFuture<Output = Result<T, E>>,
) -> ChainResult<T> {
    match tokio::time::timeout(RPC_TIMEOUT, f.into_future()).await {
        Ok(r) => r.map_err(rpc),
        Err(_) => Err(ChainError::Rpc("timed out".into())),
    }
}

/// Where to pay from and how (`Debug` redacts the RPC URL's key).
#[derive(Clone)]
pub struct ChainSettings {
    pub rpc_url: String,
    pub chain_id: u64,
    pub token: Address,
    pub payout_contract: Address,
    /// Holds the tokens and has approved the payout contract.
    pub treasury: Address,
    pub token_decimals: u8,
    /// The operator key of the payout contract: signs every payout.
    pub signer_key: Secret<String>,
    /// Blocks a receipt must be deep before it counts (1 = in the head block).
    pub confirmations: u64,
    /// The highest max fee per gas we will pay, in wei.
    pub max_fee_cap_wei: u128,
    pub priority_fee_wei: u128,
    /// A transaction unmined this long is replaced at the same nonce with higher fees.
    pub stuck_after_ms: i64,
    /// Logs before this block are not scanned (the contracts' deployment).
    pub start_block: u64,
    /// How many blocks past a chunk's failure (a revert, a dropped nonce)
    /// the contract is still asked whether a reorg brought the chunk back;
    /// its items can be retried only after that.
    pub reorg_window_blocks: u64,
}

impl std::fmt::Debug for ChainSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChainSettings")
            .field("rpc_url", &crate::secret::redact_url(&self.rpc_url))
            .field("chain_id", &self.chain_id)
            .field("token", &self.token)
            .field("payout_contract", &self.payout_contract)
            .field("treasury", &self.treasury)
            .field("confirmations", &self.confirmations)
            .finish_non_exhaustive()
    }
}

impl ChainSettings {
    /// Ledger minor units → token base units.
    pub fn to_chain_amount(&self, minor: i64) -> U256 {
        let scale = U256::from(10u64).pow(U256::from(
            self.token_decimals.saturating_sub(LEDGER_DECIMALS),
        ));
        U256::from(minor.max(0) as u64) * scale
    }

    /// Token base units → ledger minor units, if whole and in range.
    pub fn to_minor(&self, amount: U256) -> Option<i64> {
        let scale = U256::from(10u64).pow(U256::from(
            self.token_decimals.saturating_sub(LEDGER_DECIMALS),
        ));
        if amount % scale != U256::ZERO {
            return None;
        }
        i64::try_from(amount / scale).ok()
    }
}

/// A receipt as the watcher needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceiptInfo {
    pub tx_hash: String,
    pub success: bool,
    pub block_number: u64,
    pub block_hash: String,
    /// Transfer logs of the token from the treasury in this transaction.
    pub transfers: Vec<ObservedTransfer>,
}

/// Why the node refused a raw transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendOutcome {
    Accepted,
    /// The node has it already, or its nonce is used (mined): look for the receipt.
    Known,
    /// A same-nonce transaction with higher fees is needed.
    Underpriced,
    Rejected(String),
}

/// A signed transaction, ready to store and broadcast.
#[derive(Debug, Clone)]
pub struct SignedTx {
    pub tx_hash: String,
    pub raw: Vec<u8>,
    pub max_fee_wei: u128,
    pub priority_fee_wei: u128,
}

pub struct Chain {
    provider: RootProvider,
    wallet: EthereumWallet,
    sender: Address,
    settings: ChainSettings,
    /// The widest `eth_getLogs` range the node last answered: providers cap
    /// results (e.g. 10,000 logs) or ranges, so a refused range is halved
    /// until it passes and the size that worked is kept for the next query.
    log_window: std::sync::atomic::AtomicU64,
}

impl std::fmt::Debug for Chain {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Chain")
            .field(
                "rpc_url",
                &crate::secret::redact_url(&self.settings.rpc_url),
            )
            .field("sender", &self.sender)
            .finish_non_exhaustive()
    }
}

pub fn parse_key(key: &Secret<String>) -> ChainResult<PrivateKeySigner> {
    key.expose()
        .trim()
        .parse::<PrivateKeySigner>()
        .map_err(|_| ChainError::Config("the signer key is not a 32-byte hex private key".into()))
}

fn url(raw: &str) -> ChainResult<reqwest::Url> {
    raw.parse().map_err(|_| {
        ChainError::Config(format!(
            "RPC URL {} is not a URL",
            crate::secret::redact_url(raw)
        ))
    })
}

impl Chain {
    /// Connects and checks that the node is the configured chain and the
    /// payout contract exists.
    pub async fn connect(settings: ChainSettings) -> ChainResult<Self> {
        let signer = parse_key(&settings.signer_key)?;
        let sender = signer.address();
        let provider = RootProvider::new_http(url(&settings.rpc_url)?);
        let chain = Self {
            provider,
            wallet: EthereumWallet::from(signer),
            sender,
            settings,
            log_window: std::sync::atomic::AtomicU64::new(LOG_WINDOW_BLOCKS),
        };
        let actual = timed(chain.provider.get_chain_id()).await?;
        if actual != chain.settings.chain_id {
            return Err(ChainError::WrongChain {
                expected: chain.settings.chain_id,
                actual,
            });
        }
        chain.check_contracts().await?;
        // Amounts are scaled by the decimals: a wrong setting would pay a
        // power of ten too much or too little.
        if chain.settings.token_decimals < LEDGER_DECIMALS {
            return Err(ChainError::Config(format!(
                "a token with fewer than {LEDGER_DECIMALS} decimals can't carry ledger amounts"
            )));
        }
        let call = IPayQuestToken::decimalsCall {};
        let out = timed(
            chain.provider.call(
                TransactionRequest::default()
                    .with_to(chain.settings.token)
                    .with_input(Bytes::from(call.abi_encode())),
            ),
        )
        .await?;
        let on_chain = IPayQuestToken::decimalsCall::abi_decode_returns(&out).map_err(rpc)?;
        if on_chain != chain.settings.token_decimals {
            return Err(ChainError::Config(format!(
                "the token has {on_chain} decimals, the configuration says {}",
                chain.settings.token_decimals
            )));
        }
        Ok(chain)
    }

    /// Refuses to work against a chain without our contracts (e.g. a fresh dev chain).
    pub async fn check_contracts(&self) -> ChainResult<()> {
        for a in [self.settings.payout_contract, self.settings.token] {
            let code = timed(self.provider.get_code_at(a)).await?;
            if code.is_empty() {
                return Err(ChainError::NoCode(a));
            }
        }
        Ok(())
    }

    pub fn settings(&self) -> &ChainSettings {
        &self.settings
    }

    /// The signing wallet (EIP-55).
    pub fn sender(&self) -> Address {
        self.sender
    }

    pub fn provider(&self) -> &RootProvider {
        &self.provider
    }

    pub async fn head(&self) -> ChainResult<u64> {
        timed(self.provider.get_block_number()).await
    }

    /// Transactions of the signing wallet mined so far (the next nonce on chain).
    pub async fn mined_nonce(&self) -> ChainResult<u64> {
        timed(self.provider.get_transaction_count(self.sender).latest()).await
    }

    /// EIP-1559 fees: twice the latest base fee plus the tip, never above the cap.
    pub async fn fees(&self) -> ChainResult<(u128, u128)> {
        let block = timed(self.provider.get_block_by_number(BlockNumberOrTag::Latest))
            .await?
            .ok_or_else(|| ChainError::Rpc("no latest block".into()))?;
        let base = u128::from(block.header.base_fee_per_gas.unwrap_or(1_000_000_000));
        let tip = self.settings.priority_fee_wei;
        let max_fee = (base * 2 + tip).min(self.settings.max_fee_cap_wei);
        Ok((max_fee, tip.min(max_fee)))
    }

    /// The gas limit of the latest block (what chunks are sized from).
    pub async fn block_gas_limit(&self) -> ChainResult<u64> {
        let block = timed(self.provider.get_block_by_number(BlockNumberOrTag::Latest))
            .await?
            .ok_or_else(|| ChainError::Rpc("no latest block".into()))?;
        Ok(block.header.gas_limit)
    }

    /// Signs `pay(chunk_id, token, treasury, entries)` at `nonce`. The gas
    /// limit is computed, not estimated, so a reverting call is still mined
    /// and its receipt tells us.
    pub async fn sign_payout(
        &self,
        chunk_id: ChunkId,
        entries: &[(Address, i64)],
        nonce: u64,
        fees: (u128, u128),
    ) -> ChainResult<SignedTx> {
        let packed: Vec<B256> = entries
            .iter()
            .map(|(to, minor)| {
                let amount = self.settings.to_chain_amount(*minor);
                // An entry packs the amount into its low 96 bits.
                if amount >= (U256::from(1u64) << 96) || *minor <= 0 {
                    return Err(ChainError::Config(format!(
                        "amount {minor} can't be paid in one entry"
                    )));
                }
                Ok(B256::from(
                    (U256::from_be_slice(to.as_slice()) << 96) | amount,
                ))
            })
            .collect::<ChainResult<_>>()?;
        let call = IPayoutBatch::payCall {
            batchId: U256::from(chunk_id.get() as u64),
            token: self.settings.token,
            from: self.settings.treasury,
            entries: packed,
        };
        let tx = TransactionRequest::default()
            .with_from(self.sender)
            .with_to(self.settings.payout_contract)
            .with_input(Bytes::from(call.abi_encode()))
            .with_nonce(nonce)
            .with_chain_id(self.settings.chain_id)
            .with_gas_limit(crate::payouts::chunk_gas_limit(entries.len()))
            .with_max_fee_per_gas(fees.0)
            .with_max_priority_fee_per_gas(fees.1);
        let envelope = tx
            .build(&self.wallet)
            .await
            .map_err(|e| ChainError::Rpc(format!("signing: {e}")))?;
        Ok(SignedTx {
            tx_hash: format!("{:#x}", envelope.tx_hash()),
            raw: envelope.encoded_2718(),
            max_fee_wei: fees.0,
            priority_fee_wei: fees.1,
        })
    }

    pub async fn send_raw(&self, raw: &[u8]) -> ChainResult<SendOutcome> {
        match tokio::time::timeout(RPC_TIMEOUT, self.provider.send_raw_transaction(raw)).await {
            Err(_) => Err(ChainError::Rpc("timed out".into())),
            Ok(Ok(_)) => Ok(SendOutcome::Accepted),
            Ok(Err(e)) => {
                let Some(resp) = e.as_error_resp() else {
                    return Err(rpc(e));
                };
                let m = resp.message.to_lowercase();
                Ok(
                    if m.contains("already") || m.contains("known") || m.contains("nonce too low") {
                        SendOutcome::Known
                    } else if m.contains("underpriced") {
                        SendOutcome::Underpriced
                    } else {
                        SendOutcome::Rejected(resp.message.to_string())
                    },
                )
            }
        }
    }

    pub async fn receipt(&self, tx_hash: &str) -> ChainResult<Option<ReceiptInfo>> {
        let hash: B256 = tx_hash
            .parse()
            .map_err(|_| ChainError::Rpc(format!("bad stored hash {tx_hash}")))?;
        let Some(r) = timed(self.provider.get_transaction_receipt(hash)).await? else {
            return Ok(None);
        };
        let (Some(block_number), Some(block_hash)) = (r.block_number, r.block_hash) else {
            return Ok(None);
        };
        let transfers = r
            .inner
            .logs()
            .iter()
            .filter_map(|l| self.decode_transfer(l))
            .collect();
        Ok(Some(ReceiptInfo {
            tx_hash: tx_hash.to_owned(),
            success: r.status(),
            block_number,
            block_hash: format!("{block_hash:#x}"),
            transfers,
        }))
    }

    /// The canonical hash of a block, if the chain has it.
    pub async fn block_hash(&self, number: u64) -> ChainResult<Option<String>> {
        let block = timed(
            self.provider
                .get_block_by_number(BlockNumberOrTag::Number(number)),
        )
        .await?;
        Ok(block.map(|b| format!("{:#x}", b.header.hash)))
    }

    /// The logs `filter` matches in `[from, to]`, read in ranges no wider
    /// than the node accepts: a refused range is halved (down to one block,
    /// which is then an error) and the width that worked is remembered.
    async fn logs_in(
        &self,
        filter: &Filter,
        from: u64,
        to: u64,
    ) -> ChainResult<Vec<alloy::rpc::types::Log>> {
        use std::sync::atomic::Ordering;
        let mut out = Vec::new();
        let mut start = from;
        while start <= to {
            let width = self.log_window.load(Ordering::Relaxed).max(1);
            let end = start.saturating_add(width - 1).min(to);
            let ranged = filter.clone().from_block(start).to_block(end);
            match timed(self.provider.get_logs(&ranged)).await {
                Ok(logs) => {
                    out.extend(logs);
                    start = end + 1;
                }
                Err(e) if end > start => {
                    let narrower = (end - start).div_ceil(2).max(1);
                    tracing::warn!(from = start, to = end, narrower, error = %e, "the node refused a log range; narrowing it");
                    self.log_window.store(narrower, Ordering::Relaxed);
                }
                Err(e) => return Err(e),
            }
        }
        Ok(out)
    }

    /// Transfer logs of the token from the treasury in `[from, to]`.
    pub async fn treasury_transfers(
        &self,
        from: u64,
        to: u64,
    ) -> ChainResult<Vec<ObservedTransfer>> {
        let filter = Filter::new()
            .address(self.settings.token)
            .event_signature(IPayQuestToken::Transfer::SIGNATURE_HASH)
            .topic1(self.settings.treasury.into_word());
        let logs = self.logs_in(&filter, from, to).await?;
        Ok(logs
            .iter()
            .filter_map(|l| self.decode_transfer(l))
            .collect())
    }

    /// Whether the payout contract had run this chunk id as of `block`.
    pub async fn executed_at(&self, chunk_id: ChunkId, block: u64) -> ChainResult<bool> {
        let call = IPayoutBatch::executedCall {
            batchId: U256::from(chunk_id.get() as u64),
        };
        let tx = TransactionRequest::default()
            .with_to(self.settings.payout_contract)
            .with_input(Bytes::from(call.abi_encode()));
        let out = timed(self.provider.call(tx).block(BlockId::number(block))).await?;
        IPayoutBatch::executedCall::abi_decode_returns(&out).map_err(rpc)
    }

    /// Whether the payout contract has run this chunk id (as of the head).
    pub async fn executed(&self, chunk_id: ChunkId) -> ChainResult<bool> {
        let head = self.head().await?;
        self.executed_at(chunk_id, head).await
    }

    /// The nonce of a transaction the node knows.
    pub async fn tx_nonce(&self, tx_hash: &str) -> ChainResult<Option<u64>> {
        let hash: B256 = tx_hash
            .parse()
            .map_err(|_| ChainError::Rpc(format!("bad hash {tx_hash}")))?;
        let tx = timed(self.provider.get_transaction_by_hash(hash)).await?;
        Ok(tx.map(|t| alloy::consensus::Transaction::nonce(&t)))
    }

    /// The signing wallet's mined transaction count as of `block`.
    pub async fn nonce_at(&self, block: u64) -> ChainResult<u64> {
        timed(
            self.provider
                .get_transaction_count(self.sender)
                .block_id(BlockId::number(block)),
        )
        .await
    }

    /// The transaction in which the payout contract ran this chunk id, from
    /// its `BatchPaid` log, if it did.
    pub async fn batch_paid_tx(&self, chunk_id: ChunkId) -> ChainResult<Option<String>> {
        let filter = Filter::new()
            .address(self.settings.payout_contract)
            .event_signature(IPayoutBatch::BatchPaid::SIGNATURE_HASH)
            .topic1(B256::from(U256::from(chunk_id.get() as u64)));
        let head = self.head().await?;
        let logs = self
            .logs_in(&filter, self.settings.start_block, head)
            .await?;
        Ok(logs
            .iter()
            .find_map(|l| l.transaction_hash)
            .map(|h| format!("{h:#x}")))
    }

    /// The chunk ids whose `BatchPaid` the transaction emitted (empty for a
    /// transaction that is not a payout of ours, or not mined).
    pub async fn batch_paid_ids(&self, tx_hash: &str) -> ChainResult<Vec<ChunkId>> {
        let hash: B256 = tx_hash
            .parse()
            .map_err(|_| ChainError::Rpc(format!("bad hash {tx_hash}")))?;
        let Some(r) = timed(self.provider.get_transaction_receipt(hash)).await? else {
            return Ok(Vec::new());
        };
        Ok(r.inner
            .logs()
            .iter()
            .filter(|l| {
                l.address() == self.settings.payout_contract
                    && l.topics().first() == Some(&IPayoutBatch::BatchPaid::SIGNATURE_HASH)
            })
            .filter_map(|l| l.topics().get(1))
            .filter_map(|t| i64::try_from(U256::from_be_bytes(t.0)).ok())
            .map(ChunkId)
            .collect())
    }

    pub async fn token_balance(&self, holder: Address) -> ChainResult<U256> {
        let call = IPayQuestToken::balanceOfCall { account: holder };
        let tx = TransactionRequest::default()
            .with_to(self.settings.token)
            .with_input(Bytes::from(call.abi_encode()));
        let out = timed(self.provider.call(tx)).await?;
        IPayQuestToken::balanceOfCall::abi_decode_returns(&out).map_err(rpc)
    }

    fn decode_transfer(&self, log: &alloy::rpc::types::Log) -> Option<ObservedTransfer> {
        if log.address() != self.settings.token {
            return None;
        }
        let topics = log.topics();
        if topics.len() != 3 || topics[0] != IPayQuestToken::Transfer::SIGNATURE_HASH {
            return None;
        }
        let from = Address::from_word(topics[1]);
        if from != self.settings.treasury {
            return None;
        }
        let to = Address::from_word(topics[2]);
        let data = &log.data().data;
        if data.len() != 32 {
            return None;
        }
        let amount = U256::from_be_slice(data);
        Some(ObservedTransfer {
            tx_hash: format!("{:#x}", log.transaction_hash?),
            log_index: i64::try_from(log.log_index?).ok()?,
            block_number: i64::try_from(log.block_number?).ok()?,
            from_address: from.to_checksum(None),
            to_address: to.to_checksum(None),
            amount_minor: self.settings.to_minor(amount),
            amount_raw: amount.to_string(),
        })
    }
}

/// Addresses of a dev deployment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Deployment {
    pub token: Address,
    pub payout_contract: Address,
    pub treasury: Address,
    pub start_block: u64,
}

fn bytecode(artifact: &str) -> ChainResult<Vec<u8>> {
    let v: serde_json::Value =
        serde_json::from_str(artifact).map_err(|e| ChainError::Config(e.to_string()))?;
    let hex_code = v["bytecode"]["object"]
        .as_str()
        .ok_or_else(|| ChainError::Config("artifact has no bytecode".into()))?;
    hex::decode(hex_code.trim_start_matches("0x")).map_err(|e| ChainError::Config(e.to_string()))
}

/// Deploys the dev token and payout contract with `key` as owner, treasury
/// and operator, mints `mint_minor` to the treasury and approves the payout
/// contract for everything. For dev chains and tests.
pub async fn deploy_dev(
    rpc_url: &str,
    key: &Secret<String>,
    mint_minor: i64,
) -> ChainResult<Deployment> {
    let signer = parse_key(key)?;
    let me = signer.address();
    let provider = ProviderBuilder::new()
        .wallet(EthereumWallet::from(signer))
        .connect_http(url(rpc_url)?);
    let start_block = timed(provider.get_block_number()).await?;

    async fn send<P: Provider>(
        provider: &P,
        tx: TransactionRequest,
    ) -> ChainResult<alloy::rpc::types::TransactionReceipt> {
        let pending = timed(provider.send_transaction(tx)).await?;
        let receipt = timed(pending.with_timeout(Some(RPC_TIMEOUT)).get_receipt()).await?;
        if !receipt.status() {
            return Err(ChainError::Rpc("a deployment transaction reverted".into()));
        }
        Ok(receipt)
    }

    let mut code = bytecode(TOKEN_ARTIFACT)?;
    code.extend(("PayQuest Dev Token".to_string(), "PQT".to_string()).abi_encode_params());
    let token = send(
        &provider,
        TransactionRequest::default().with_deploy_code(code),
    )
    .await?
    .contract_address
    .ok_or_else(|| ChainError::Rpc("no token address".into()))?;
    let mut code = bytecode(PAYOUT_ARTIFACT)?;
    code.extend(me.abi_encode());
    let payout_contract = send(
        &provider,
        TransactionRequest::default().with_deploy_code(code),
    )
    .await?
    .contract_address
    .ok_or_else(|| ChainError::Rpc("no payout contract address".into()))?;
    // The dev token has 6 decimals, like the ledger: minor units are base units.
    let mint = IPayQuestToken::mintCall {
        to: me,
        amount: U256::from(mint_minor.max(0) as u64),
    };
    send(
        &provider,
        TransactionRequest::default()
            .with_to(token)
            .with_input(Bytes::from(mint.abi_encode())),
    )
    .await?;
    let approve = IPayQuestToken::approveCall {
        spender: payout_contract,
        amount: U256::MAX,
    };
    send(
        &provider,
        TransactionRequest::default()
            .with_to(token)
            .with_input(Bytes::from(approve.abi_encode())),
    )
    .await?;
    Ok(Deployment {
        token,
        payout_contract,
        treasury: me,
        start_block,
    })
}

/// Sends an ERC-20 transfer from `key`'s account (tests and demos: an
/// outgoing transfer no payout explains).
pub async fn send_token_transfer(
    rpc_url: &str,
    key: &Secret<String>,
    token: Address,
    to: Address,
    amount: U256,
) -> ChainResult<String> {
    let signer = parse_key(key)?;
    let provider = ProviderBuilder::new()
        .wallet(EthereumWallet::from(signer))
        .connect_http(url(rpc_url)?);
    let call = IPayQuestToken::transferCall { to, amount };
    let pending = timed(
        provider.send_transaction(
            TransactionRequest::default()
                .with_to(token)
                .with_input(Bytes::from(call.abi_encode())),
        ),
    )
    .await?;
    let hash = *pending.tx_hash();
    timed(pending.with_timeout(Some(RPC_TIMEOUT)).get_receipt()).await?;
    Ok(format!("{hash:#x}"))
}

/// Revokes the treasury's approval of the payout contract (tests: a chunk
/// that must revert).
pub async fn set_allowance(
    rpc_url: &str,
    key: &Secret<String>,
    token: Address,
    spender: Address,
    amount: U256,
) -> ChainResult<()> {
    let signer = parse_key(key)?;
    let provider = ProviderBuilder::new()
        .wallet(EthereumWallet::from(signer))
        .connect_http(url(rpc_url)?);
    let call = IPayQuestToken::approveCall { spender, amount };
    let pending = timed(
        provider.send_transaction(
            TransactionRequest::default()
                .with_to(token)
                .with_input(Bytes::from(call.abi_encode())),
        ),
    )
    .await?;
    timed(pending.with_timeout(Some(RPC_TIMEOUT)).get_receipt()).await?;
    Ok(())
}
