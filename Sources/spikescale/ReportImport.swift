// SummaryTable moved from SpikeRun to SpikeReport: this makes SpikeReport visible to every file of the
// command (simulate and inspect print its tables) until those files import SpikeReport themselves;
// then delete this file.
@_exported import SpikeReport
