import { Module } from '@nestjs/common';
import { ClusterMembership } from './cluster-membership';
import { ClusterPublisher } from './cluster-publisher';
import { ClusterQuery } from './cluster-query';
import { ReplicaStatsReader } from './replica-stats';

/**
 * The replicas as a cluster: who is alive (heartbeats, with each replica's figures), look-ups asked
 * of all of them, and best-effort replica-to-replica messages. Presence, the console, webhooks and
 * the user disconnect build on it.
 */
@Module({
  providers: [ClusterPublisher, ClusterMembership, ClusterQuery, ReplicaStatsReader],
  exports: [ClusterPublisher, ClusterMembership, ClusterQuery],
})
export class ClusterModule {}
