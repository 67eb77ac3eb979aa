// An ICRC-1 ledger interface (with the ICRC-3 recursive Value type) for the tests, written from the
// ICRC-1 standard's method list.

export const ICRC1_DID = `
// Subaccounts are 32 bytes.
type Subaccount = blob;
type Account = record { owner : principal; subaccount : opt Subaccount };
type Timestamp = nat64;
type Value = variant {
  Nat : nat;
  Int : int;
  Text : text;
  Blob : blob;
  Array : vec Value;
  Map : vec record { text; Value };
};
type MetadataValue = variant { Nat : nat; Int : int; Text : text; Blob : blob };
type TransferArg = record {
  from_subaccount : opt Subaccount;
  to : Account;
  amount : nat;
  fee : opt nat;
  memo : opt blob;
  created_at_time : opt Timestamp;
};
type TransferError = variant {
  BadFee : record { expected_fee : nat };
  BadBurn : record { min_burn_amount : nat };
  InsufficientFunds : record { balance : nat };
  TooOld;
  CreatedInFuture : record { ledger_time : Timestamp };
  Duplicate : record { duplicate_of : nat };
  TemporarilyUnavailable;
  GenericError : record { error_code : nat; message : text };
};
type TransferResult = variant { Ok : nat; Err : TransferError };
/* A linked list, to check mutual recursion through records and opts. */
type Tree = record { value : nat; children : vec Forest };
type Forest = opt Tree;
type Callback = func (nat) -> (text) query;
type InitArgs = record { token_symbol : text; token_name : text; minting_account : Account; transfer_fee : nat };

service ledger : (InitArgs) -> {
  icrc1_name : () -> (text) query;
  icrc1_symbol : () -> (text) query;
  icrc1_decimals : () -> (nat8) query;
  icrc1_fee : () -> (nat) query;
  icrc1_metadata : () -> (vec record { text; MetadataValue }) query;
  icrc1_total_supply : () -> (nat) query;
  icrc1_minting_account : () -> (opt Account) query;
  icrc1_balance_of : (Account) -> (nat) query;
  icrc1_transfer : (TransferArg) -> (TransferResult);
  icrc1_supported_standards : () -> (vec record { name : text; url : text }) query;
  get_value : (nat) -> (Value) composite_query;
  walk : (Tree) -> (Forest);
  subscribe : (callback : Callback) -> ();
  notify : Callback;
  "weird name" : (nat) -> () oneway;
}
`

/** Verbatim candid:service output of the npm motoko 4.10 compiler for an actor class (layout, quoting, numeric ids). */
export const MOTOKO_DID = `type List = 
 opt record {
       nat;
       List;
     };
type Ledger = 
 service {
   balance: (who: record {
                    owner: principal;
                    sub: opt blob;
                  }) -> (nat) query;
   cq: () -> (int8, float64) composite_query;
   events: (l: List, f: func (nat) -> (text) query) -> (vec Ev);
   ow: () -> () oneway;
   res: () -> (variant {
                 err: text;
                 ok: nat;
               });
   weird: () -> (record {
                   0: text;
                   "type": nat;
                 }) query;
 };
type Ev = 
 variant {
   "blob": blob;
   created: record {
              id: nat64;
              owner: principal;
            };
   deleted;
 };
service : (init: record {
                   fee: nat;
                   name: text;
                 }) -> Ledger
`
