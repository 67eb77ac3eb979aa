// A counter whose state survives upgrades: a persistent actor keeps its variables
// (enhanced orthogonal persistence), so `capsa deploy` upgrades without losing the count.
persistent actor {
  var count : Nat = 0;

  public func inc() : async Nat {
    count += 1;
    count
  };

  public query func get() : async Nat {
    count
  };

  public query func greet(name : Text) : async Text {
    "Hello, " # name # "!"
  };
};
