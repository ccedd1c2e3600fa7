// libpcap for the capture tool (harness-notes.md §5.1). Only `synccapture` links it.
#include <pcap/pcap.h>
