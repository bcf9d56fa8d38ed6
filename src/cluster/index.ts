export { ClusterModule } from './cluster.module';
export { ClusterMembership, type ClusterMember } from './cluster-membership';
export { ClusterPublisher } from './cluster-publisher';
export { ClusterQuery, type ClusterLookup, type LocalAnswer } from './cluster-query';
export { decode as decodeClusterMessage } from './cluster.messages';
export type { ReplicaStats } from './cluster.messages';
export { ScatterGather, type GatherAnswer, type Gathered } from './scatter-gather';
