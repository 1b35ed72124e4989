public class Hello {
    public static void main(String[] args) {
        String who = args.length > 0 ? String.join(" ", args) : "World";
        System.out.println("Hello, " + who + "! (Java " + System.getProperty("java.version") + ")");
    }
}
