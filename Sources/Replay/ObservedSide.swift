import CometWire

/// "What the recorded node did" as one side of a differential replay (issue 14 §3): a trace
/// captured from a real node carries that node's own decisions — its outbound blocksync
/// messages — so `syncreplay diff TRACE --profiles observed,P` diffs the real node against any
/// implementation.
///
/// Each recorded outbound message is the decision it shows, at its recorded time, caused by
/// its own event: `BlockRequest` → `request{peer,height}`, `BlockResponse` /
/// `NoBlockResponse` → `respond{peer,height,found}`, `StatusRequest`s recorded at one instant →
/// one `status_request` (the node broadcasts it). Only these kinds, and `observed_mismatch`
/// (a pivot check the validator decides otherwise than the recorded result; the recorded node
/// never disagrees with itself), can be compared against a recording, so a comparison with the
/// observed side leaves every other kind out, and compares without the cause (here the
/// message's own event, in a replay what triggered it).
public enum ObservedSide {
    public static let name = "observed"

    /// The decision kinds a recording shows.
    public static let kinds: [DecisionKind] = [.request, .respond, .statusRequest, .observedMismatch]

    /// Whether the event shows the recorded node deciding: an outbound message, or a pivot
    /// check with its logged result.
    public static func shows(_ event: ReplayEvent) -> Bool {
        switch event.body {
        case .blocksync(_, let inbound, _): return !inbound
        case .pivotSwitch(_, _, _, _, let observed), .pivotExtend(_, _, let observed): return observed != .unknown
        default: return false
        }
    }

    public static func decisions(_ trace: ReplayTrace) -> [Decision] {
        var out: [Decision] = []
        var lastStatusTime: UInt64?
        for event in trace.events {
            guard case .blocksync(let peer, false, let bytes) = event.body, let message = try? BlocksyncMessage.decode(bytes) else { continue }
            let cause = DecisionCause.event(event.index)
            switch message {
            case .blockRequest(let h): out.append(Decision(.request(peer: peer, height: h), time: event.time, cause: cause))
            case .blockResponse(let block, _):
                out.append(Decision(.respond(peer: peer, height: block.header.height, found: true), time: event.time, cause: cause))
            case .noBlockResponse(let h): out.append(Decision(.respond(peer: peer, height: h, found: false), time: event.time, cause: cause))
            case .statusRequest:
                if lastStatusTime != event.time { out.append(Decision(.statusRequest, time: event.time, cause: cause)) }
                lastStatusTime = event.time
            case .statusResponse: continue
            }
        }
        return out
    }
}
