# Sourced by record-samples.sh and regen-traces.sh: the node's start state each committed capture
# in Traces/capture/ is recorded with (synccapture record's --genesis / --node-from), so both
# scripts decode every pcap with the same arguments. Needs $fixtures.
start_args() {  # NAME
    case "$1" in
        # A multi-peer loopback sync played from the corpus trace: the node starts where it did.
        sim-sync) echo "--node-from Traces/catchup-basic.trace" ;;
        # Conversations on the fixture chain (dockerchain): the node syncs from its genesis.
        *) echo "--genesis $fixtures/genesis.json" ;;
    esac
}
