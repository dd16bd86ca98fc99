// SPDX-License-Identifier: UNLICENSED
pragma solidity ^0.8.24;

/// @title PayQuestToken
/// @notice Minimal ERC-20 used on development chains to exercise payouts.
/// @dev 6 decimals; the deployer is the owner and the only account that can mint.
///      An allowance of type(uint256).max is treated as unlimited and never decremented.
///
///      Lean storage layout, to keep transfers cheap:
///      - the balance of `account` lives at slot `BALANCE_SEED << 160 | account`
///        (no hashing; the seed keeps these slots far from slots 0..2 below);
///      - the allowance of `spender` over `holder` lives at slot
///        `keccak256(abi.encode(holder, spender))` (one hash instead of two).
contract PayQuestToken {
    /// @notice Token name.
    string public name;
    /// @notice Token symbol.
    string public symbol;
    /// @notice Sum of all balances.
    uint256 public totalSupply;
    /// @notice Number of decimals of the token amounts.
    uint8 public constant decimals = 6;
    /// @notice Account allowed to mint.
    address public immutable owner;

    uint256 private constant BALANCE_SEED = 0x5051545f42414c; // "PQT_BAL"
    /// @dev keccak256("Transfer(address,address,uint256)")
    bytes32 private constant TRANSFER_TOPIC = 0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef;

    event Transfer(address indexed from, address indexed to, uint256 value);
    event Approval(address indexed owner, address indexed spender, uint256 value);

    error NotOwner();
    error InvalidReceiver();
    error InsufficientBalance();
    error InsufficientAllowance();

    /// @param name_ Token name.
    /// @param symbol_ Token symbol.
    constructor(string memory name_, string memory symbol_) {
        name = name_;
        symbol = symbol_;
        owner = msg.sender;
    }

    /// @notice Balance of `account`.
    function balanceOf(address account) external view returns (uint256 amount) {
        assembly ("memory-safe") {
            amount := sload(or(shl(160, BALANCE_SEED), account))
        }
    }

    /// @notice Amount `spender` may still move from `holder`.
    function allowance(address holder, address spender) external view returns (uint256 amount) {
        assembly ("memory-safe") {
            mstore(0x00, holder)
            mstore(0x20, spender)
            amount := sload(keccak256(0x00, 0x40))
        }
    }

    /// @notice Creates `amount` tokens for `to`. Owner only.
    function mint(address to, uint256 amount) external {
        if (msg.sender != owner) revert NotOwner();
        if (to == address(0)) revert InvalidReceiver();
        totalSupply += amount; // checked: caps the supply, so no balance can overflow
        assembly ("memory-safe") {
            let slot := or(shl(160, BALANCE_SEED), to)
            sstore(slot, add(sload(slot), amount))
        }
        emit Transfer(address(0), to, amount);
    }

    /// @notice Moves `amount` from the caller to `to`.
    function transfer(address to, uint256 amount) external returns (bool) {
        _move(msg.sender, to, amount);
        return true;
    }

    /// @notice Lets `spender` move up to `amount` of the caller's tokens.
    function approve(address spender, uint256 amount) external returns (bool) {
        assembly ("memory-safe") {
            mstore(0x00, caller())
            mstore(0x20, spender)
            sstore(keccak256(0x00, 0x40), amount)
        }
        emit Approval(msg.sender, spender, amount);
        return true;
    }

    /// @notice Moves `amount` from `from` to `to` using the caller's allowance.
    function transferFrom(address from, address to, uint256 amount) external returns (bool) {
        uint256 slot;
        uint256 allowed;
        assembly ("memory-safe") {
            mstore(0x00, from)
            mstore(0x20, caller())
            slot := keccak256(0x00, 0x40)
            allowed := sload(slot)
        }
        if (allowed != type(uint256).max) {
            if (allowed < amount) revert InsufficientAllowance();
            assembly ("memory-safe") {
                sstore(slot, sub(allowed, amount))
            }
        }
        _move(from, to, amount);
        return true;
    }

    /// @dev Debits `from`, credits `to` and logs Transfer. Addresses arrive ABI-checked (clean).
    function _move(address from, address to, uint256 amount) private {
        if (to == address(0)) revert InvalidReceiver();
        uint256 fromSlot;
        uint256 fromBalance;
        assembly ("memory-safe") {
            fromSlot := or(shl(160, BALANCE_SEED), from)
            fromBalance := sload(fromSlot)
        }
        if (fromBalance < amount) revert InsufficientBalance();
        assembly ("memory-safe") {
            sstore(fromSlot, sub(fromBalance, amount))
            // Cannot overflow: every balance is bounded by totalSupply.
            let toSlot := or(shl(160, BALANCE_SEED), to)
            sstore(toSlot, add(sload(toSlot), amount))
            mstore(0x00, amount)
            log3(0x00, 0x20, TRANSFER_TOPIC, from, to)
        }
    }
}
