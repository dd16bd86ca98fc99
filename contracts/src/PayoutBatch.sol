// SPDX-License-Identifier: UNLICENSED
pragma solidity ^0.8.24;

/// @title PayoutBatch
/// @notice Pays many recipients of one ERC-20 token in a single transaction, with
///         `token.transferFrom(from, recipient, amount)` for each entry.
/// @dev Each entry is one bytes32 word: recipient in the high 160 bits, amount in the
///      low 96 bits, i.e. `bytes32(uint256(uint160(recipient)) << 96 | amount)`.
///      A batch id runs at most once. `from` must have approved this contract; an
///      unlimited (type(uint256).max) approval keeps the token from writing the
///      allowance on every entry.
contract PayoutBatch {
    /// @notice Account that may change the operator; fixed at deployment.
    address public immutable owner;
    /// @notice The only account allowed to call `pay`.
    address public operator;
    /// @notice Whether a batch id has been paid.
    mapping(uint256 batchId => bool) public executed;

    /// @notice One per paid batch; the token's Transfer logs of the same
    ///         transaction identify each payment.
    event BatchPaid(uint256 indexed batchId, uint256 count, uint256 total);
    /// @notice The operator changed.
    event OperatorSet(address indexed operator);

    error NotOwner();
    error NotOperator();
    error EmptyBatch();
    error AlreadyExecuted(uint256 batchId);
    error TokenHasNoCode(address token);
    /// @notice The transfer of entry `index` reverted or did not return true.
    error TransferFailed(uint256 index);

    /// @param initialOperator First account allowed to call `pay`.
    constructor(address initialOperator) {
        owner = msg.sender;
        operator = initialOperator;
        emit OperatorSet(initialOperator);
    }

    /// @notice Replaces the operator. Owner only.
    function setOperator(address newOperator) external {
        if (msg.sender != owner) revert NotOwner();
        operator = newOperator;
        emit OperatorSet(newOperator);
    }

    /// @notice Pays every entry of batch `batchId` from `from` in `token`; all or nothing.
    /// @param batchId Caller-chosen id; a second call with the same id reverts.
    /// @param token ERC-20 token to pay in.
    /// @param from Account the tokens are taken from (it approved this contract).
    /// @param entries Packed `recipient << 96 | amount` words.
    function pay(uint256 batchId, address token, address from, bytes32[] calldata entries) external {
        if (msg.sender != operator) revert NotOperator();
        if (entries.length == 0) revert EmptyBatch();
        if (executed[batchId]) revert AlreadyExecuted(batchId);
        // A call to an address without code "succeeds" and returns nothing: refuse it once here.
        if (token.code.length == 0) revert TokenHasNoCode(token);
        executed[batchId] = true;

        uint256 total;
        bytes4 failed = TransferFailed.selector;
        assembly ("memory-safe") {
            // Calldata of transferFrom(address,address,uint256), built once in free memory:
            // [m, m+4) selector, [m+4, m+36) from, [m+36, m+68) to, [m+68, m+100) amount.
            let m := mload(0x40)
            mstore(m, shl(224, 0x23b872dd))
            mstore(add(m, 0x04), from)
            let toPtr := add(m, 0x24)
            let amountPtr := add(m, 0x44)

            let p := entries.offset
            let end := add(p, shl(5, entries.length))
            for {} lt(p, end) { p := add(p, 0x20) } {
                let entry := calldataload(p)
                let amount := and(entry, 0xffffffffffffffffffffffff)
                mstore(toPtr, shr(96, entry))
                mstore(amountPtr, amount)
                // Cannot overflow: each amount < 2^96 and there are far fewer than 2^160 entries.
                total := add(total, amount)

                // Success = the call did not revert and returned either nothing or the word 1
                // (tokens that return no bool are accepted, those returning false are not).
                // The return word lands in scratch space [0, 32). The call is its own statement
                // because Yul evaluates arguments right to left.
                let ok := call(gas(), token, 0, m, 0x64, 0x00, 0x20)
                if iszero(and(ok, or(iszero(returndatasize()), and(gt(returndatasize(), 0x1f), eq(mload(0x00), 1))))) {
                    mstore(0x00, failed)
                    mstore(0x04, shr(5, sub(p, entries.offset)))
                    revert(0x00, 0x24)
                }
            }
        }
        emit BatchPaid(batchId, entries.length, total);
    }
}
